# Installs, with apt-get, the tools a fresh machine lacks: Java 17, Maven, npm (for pinned data), and for
# the tests Debian's Chromium.
# Sourced by bin/test and bin/rlhf.
ensure_tools() {
  local need_apt=()
  command -v java >/dev/null || need_apt+=(openjdk-17-jdk-headless)
  command -v mvn >/dev/null || need_apt+=(maven)
  command -v npm >/dev/null || need_apt+=(npm)
  if [ ${#need_apt[@]} -gt 0 ]; then
    command -v apt-get >/dev/null || { echo "missing ${need_apt[*]}: install them (this machine has no apt-get)" >&2; exit 1; }
    echo "installing ${need_apt[*]} (apt-get)" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  fi
}

# Debian's Chromium and its ChromeDriver, for the annotation app's browser tests (no browser download).
ensure_browser() {
  if ! { [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; }; then
    command -v apt-get >/dev/null || { echo "missing chromium and chromium-driver: install them (this machine has no apt-get)" >&2; exit 1; }
    echo "installing chromium chromium-driver (apt-get)" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  fi
}
