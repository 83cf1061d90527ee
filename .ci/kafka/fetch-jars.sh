#!/usr/bin/env bash
# Copy the jars of the test Kafka broker (Apache Kafka from Maven Central, see pom.xml here)
# into a cache directory, once. Prints that directory on stdout.
#
#   bash .ci/kafka/fetch-jars.sh [DIR]
#
# DIR defaults to $STREAMFORGE_KAFKA_JARS, else ~/.cache/streamforge/kafka-jars/<kafka version>.
# Needs mvn and a JDK (17+). Skips everything when DIR is already complete.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
pom="$here/pom.xml"
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom")"
if [[ -z "$version" ]]; then
  echo "fetch-jars.sh: no <kafka.version> in $pom" >&2
  exit 1
fi
dir="${1:-${STREAMFORGE_KAFKA_JARS:-${XDG_CACHE_HOME:-$HOME/.cache}/streamforge/kafka-jars/$version}}"

if [[ -f "$dir/.complete" ]]; then
  echo "$dir"
  exit 0
fi
if ! command -v mvn >/dev/null; then
  echo "fetch-jars.sh: mvn is not installed (apt-get install maven)" >&2
  exit 1
fi

# Fill a temporary sibling, then rename: a half-finished copy is never taken for a complete one.
mkdir -p "$(dirname "$dir")"
tmp="$(mktemp -d "$dir.partial.XXXXXX")"
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
echo "fetch-jars.sh: fetching Apache Kafka $version jars into $dir" >&2
mvn -q -B -f "$pom" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" >&2
touch "$tmp/.complete"
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
echo "$dir"
