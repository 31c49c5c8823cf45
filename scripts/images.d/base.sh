#!/usr/bin/env bash
# The images' base (the Dockerfile's PYTHON_IMAGE), for scripts/images:
#   base.sh make ROOTFS SUITE MIRROR SECURITY-MIRROR PACKAGES DEB-CACHE
#       debootstrap minbase + PACKAGES (comma-separated), updated from the security mirror
#       (may be empty), shrunk; the .debs are kept in DEB-CACHE for the next time
#   base.sh import TARBALL IMAGE
#       the tree as an image
# Lines starting with three spaces are its summary.
# The mirrors come from the caller, who reads them from this machine's apt sources.
set -euo pipefail

seconds() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

make() {
  local root=$1 suite=$2 mirror=$3 security=$4 packages=$5 debs=$6 t
  t=$(date +%s.%N)
  mkdir -p "$debs"
  debootstrap --variant=minbase --cache-dir="$debs" --include="$packages" "$suite" "$root" "$mirror"
  echo "   debootstrap $(seconds "$t") s, $(du -sm "$root" | cut -f1) MB"
  t=$(date +%s.%N)
  # Security updates (python3.11 and libssl get them): an upgrade needs only the lists of
  # the updates and security suites (the main one is large and what debootstrap installed).
  {
    echo "deb $mirror $suite-updates main"
    if [ -n "$security" ]; then echo "deb $security $suite-security main"; fi
  } >"$root/etc/apt/sources.list"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  chroot "$root" env DEBIAN_FRONTEND=noninteractive sh -ec '
    apt-get update -qq
    apt-get -y -qq -o Dpkg::Options::=--force-confold upgrade
    apt-get clean'
  # The image keeps no apt source: this machine's mirror stays out of every layer.
  # scripts/images lends a sources.list to the builder stage, as it lends pip.conf.
  echo "# apt sources: none in the image; scripts/images lends them to build steps" \
    >"$root/etc/apt/sources.list"
  echo "   updates $(seconds "$t") s"
  # Derived images install without docs either.
  cat >"$root/etc/dpkg/dpkg.cfg.d/90-nodoc" <<'EOF'
path-exclude=/usr/share/doc/*
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-include=/usr/share/locale/locale.alias
path-exclude=/usr/share/lintian/*
path-exclude=/usr/lib/*/gconv/*
EOF
  # Shrink: apt lists and caches, docs, man pages, locales, logs, and glibc's iconv modules
  # (9 MB; Python's codecs are its own, UTF-8 is built into glibc). The stdlib's bytecode
  # (compiled by Debian's postinst) stays: the images run on a read-only root.
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/cache/debconf/*-old \
    "$root"/var/cache/ldconfig/* "$root"/var/lib/dpkg/*-old \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
    "$root"/usr/share/lintian "$root"/usr/share/linda "$root"/usr/share/bug \
    "$root"/usr/share/common-licenses "$root"/tmp/* "$root"/var/tmp/* "$root"/usr/lib/*/gconv
  find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
  find "$root/var/log" -type f -delete
  : >"$root/etc/resolv.conf"
  : >"$root/etc/machine-id" 2>/dev/null || true
  echo "   shrunk to $(du -sm "$root" | cut -f1) MB"
}

import() {
  local tarball=$1 image=$2
  podman import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["python3"]' \
    "$tarball" "$image"
}

"$@"
