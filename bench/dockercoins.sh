#!/bin/bash
# Runs the original DockerCoins on loopback ports, its sleeps removed, for ramcoin-bench's same-run comparison:
#   bench/dockercoins.sh services DIR   its Redis (16379), rng (18001) and hasher (18002), until stopped
#   bench/dockercoins.sh workers DIR    four of its workers against them (the Speed issue's 757 hashes/s), until stopped
# DIR is the dockercoins folder of a clone of https://github.com/jpetazzo/container.training (Apache-2.0).
# Its code is not copied into this repository: the files are rewritten into a temporary folder, changing only
# the sleeps, the listen addresses and the peers' host names. Needs redis-server, python3 with flask, redis and
# requests (apt-get install -y redis-server python3-flask python3-redis python3-requests) and ruby with sinatra
# and thin (apt-get install -y ruby ruby-sinatra thin).
set -euo pipefail

usage() {
    echo "usage: $0 services|workers DIR (DIR: container.training's dockercoins folder)" >&2
    exit 2
}

[ $# -eq 2 ] || usage
mode=$1
source=$2
for file in rng/rng.py hasher/hasher.rb worker/worker.py; do
    [ -f "$source/$file" ] || { echo "$0: $source/$file not found: DIR must be container.training's dockercoins folder" >&2; exit 2; }
done

# The Debian interpreter, whose packages (python3-flask ...) the apt line above installs, not a pyenv shim.
python=/usr/bin/python3
work=$(mktemp -d /tmp/dockercoins.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"

case $mode in
services)
    sed -e '/time.sleep(0.1)/d' \
        -e 's/app.run(.*)/app.run(host="127.0.0.1", port=18001)/' "$source/rng/rng.py" > rng.py
    sed -e '/sleep 0.1/d' \
        -e "s/set :port, 80/set :port, 18002\nset :bind, '127.0.0.1'/" "$source/hasher/hasher.rb" > hasher.rb
    redis-server --port 16379 --save '' --appendonly no > redis.log 2>&1 &
    "$python" rng.py > rng.log 2>&1 &
    ruby hasher.rb > hasher.log 2>&1 &
    ;;
workers)
    sed -e 's/time.sleep(0.1)/pass/' \
        -e 's/Redis("redis")/Redis("127.0.0.1", 16379)/' \
        -e 's#http://rng/#http://127.0.0.1:18001/#' \
        -e 's#http://hasher/#http://127.0.0.1:18002/#' "$source/worker/worker.py" > worker.py
    redis-cli -p 16379 del hashes > /dev/null
    for _ in 1 2 3 4; do
        "$python" worker.py > /dev/null 2>&1 &
    done
    ;;
*)
    usage
    ;;
esac

wait
