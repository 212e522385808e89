#!/bin/bash
# T1: no admin activity for SECONDS (default 60, the iTrack paper's T1).
# Usage: t1-idle.sh [SECONDS]
set -euo pipefail
sleep "${1:-60}"
