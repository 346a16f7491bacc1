#!/bin/sh
# docker-healthcheck.sh — the container's HEALTHCHECK: healthy when the node
# serves (kvnode-probe.sh ready: the leader taking writes, or a follower
# serving committed reads with its link to the leader up).
exec sh "$(dirname "$0")/kvnode-probe.sh" ready
