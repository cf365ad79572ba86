#!/usr/bin/env bash
# Re-fetches the vendored uPlot from the npm registry and checks it against manifest.json:
# the tarball's npm integrity (sha512), then each committed file's sha512.
#   ./fetch.sh            fetch, verify, and fail if a committed file differs from the package's
#   ./fetch.sh --write    fetch, verify the tarball, copy the files here and print the sha512s for the manifest
# Only npm and standard tools (tar, sha512sum, base64) are needed; nothing of it runs at the service's run time.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
manifest="$here/manifest.json"
# field KEY [KEY…]: a value of the manifest (keys as separate arguments: file names contain dots).
field() { node -e "console.log(process.argv.slice(2).reduce((o,k)=>o[k],require(process.argv[1])))" "$manifest" "$@"; }

package="$(field package)"
version="$(field version)"
integrity="$(field integrity)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack "$package@$version" --silent >/dev/null)
tarball="$work/$package-$version.tgz"
actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
if [[ "$actual" != "$integrity" ]]; then
  echo "tarball integrity mismatch: manifest $integrity, registry gave $actual" >&2
  exit 1
fi
tar xzf "$tarball" -C "$work"

status=0
for name in $(node -e "console.log(Object.keys(require(process.argv[1]).files).join(' '))" "$manifest"); do
  from="$(field files "$name" from)"
  expected="$(field files "$name" sha512)"
  got="$(sha512sum "$work/package/$from" | cut -d' ' -f1)"
  if [[ "${1:-}" == "--write" ]]; then
    cp "$work/package/$from" "$here/$name"
    echo "$name sha512 $got"
  elif [[ "$got" != "$expected" ]]; then
    echo "$name: package file $from has sha512 $got, manifest says $expected" >&2; status=1
  elif ! cmp -s "$work/package/$from" "$here/$name"; then
    echo "$name: the committed file differs from the package's $from" >&2; status=1
  else
    echo "$name ok"
  fi
done
exit $status
