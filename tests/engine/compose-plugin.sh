#!/bin/sh
# A Docker CLI plugin that runs Debian's docker-compose (1.29) as `docker compose`, so that the README's commands run
# as written on a machine where Docker's own compose plugin is not packaged. The tests install it in a DOCKER_CONFIG
# of their own (cli-plugins/docker-compose); the CLI calls it with the plugin's name first.
if [ "$1" = docker-cli-plugin-metadata ]; then
  echo '{"SchemaVersion":"0.1.0","Vendor":"RamCoin tests","Version":"1.29.2","ShortDescription":"docker-compose 1.29 as docker compose"}'
  exit 0
fi
[ "$1" = compose ] && shift
exec docker-compose "$@"
