#!/usr/bin/env bash
# download URL SHA256 FILE: fetch URL into FILE and keep it only if its SHA-256 is SHA256 (a pinned release can still be
# replaced on its server; a checksum cannot). Sourced by install-kubernetes.sh and deploy-ramcoin.sh.
download() {
  local url=$1 sha256=$2 file=$3 actual
  [[ $sha256 =~ ^[0-9a-f]{64}$ ]] || { echo "download: '$sha256' is not a SHA-256 (64 hex digits) for $url" >&2; return 2; }
  curl -fsSL --retry 3 "$url" -o "$file" || { echo "download: $url could not be fetched" >&2; return 1; }
  actual=$(sha256sum "$file" | cut -d ' ' -f 1)
  if [ "$actual" != "$sha256" ]; then
    rm -f "$file"
    echo "download: $url has SHA-256 $actual, not the pinned $sha256: refused" >&2
    return 1
  fi
}
