#!/usr/bin/env bash
# make demo (placeholder until the simulator daemon and CLI land).
echo "demo: not implemented yet"
