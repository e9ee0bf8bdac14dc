#!/bin/bash
# The training toolkit's contract on rootless ns hosts: every case of the conformance table
# (t6004: argv and environment of a script-mode program under `sagerun container train`) as a
# normal user the test makes.
SR_CONFORM_AS_USER=1 exec bash "$(dirname "$0")/t6004-conformance.sh"
