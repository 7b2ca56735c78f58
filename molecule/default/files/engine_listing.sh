#!/bin/sh
# Everything a prune could touch on this host's engine, one line per object, through the docker CLI:
#   image <id> <repository:tag>         (one line per tag; <none>:<none> when dangling)
#   parent <id> [<parent id>]           (the legacy builder's parent image; none on the containerd store)
#   container <id> /<name> <status> <image id>
#   volume <name> / network <id> <name> / build_cache <id>
set -eu
docker image ls --all --no-trunc --format 'image {{.ID}} {{.Repository}}:{{.Tag}}'
docker image ls --all --quiet --no-trunc | sort -u | xargs -r docker image inspect --format 'parent {{.Id}} {{.Parent}}'
docker ps --all --quiet --no-trunc | xargs -r docker container inspect --format 'container {{.ID}} {{.Name}} {{.State.Status}} {{.Image}}'
docker volume ls --format 'volume {{.Name}}'
docker network ls --no-trunc --format 'network {{.ID}} {{.Name}}'
docker system df --verbose --format '{{range .BuildCache}}build_cache {{.ID}}{{println}}{{end}}'
