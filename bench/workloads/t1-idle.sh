#!/bin/bash
# T1: no admin activity. Usage: t1-idle.sh SECONDS
set -euo pipefail
sleep "$1"
