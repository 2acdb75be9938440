#!/usr/bin/env bash
# Builds the tiny images the Docker executor's tests and the benchmark use, locally (no image
# registry is reachable): a busybox-static root file system imported with `docker import`.
#
#   orrery-test/busybox:1   busybox applets under /bin, user circleci (uid 3434) with home
#                           /home/circleci, USER circleci, no bash (steps fall back to sh)
#
# Idempotent: an image that exists is left alone. Needs a daemon (scripts/start-dockerd.sh);
# takes busybox-static's binary from the package archive when /bin/busybox is not static.
set -euo pipefail

image="${ORRERY_TEST_IMAGE:-orrery-test/busybox:1}"

if docker image inspect "$image" >/dev/null 2>&1; then
    echo "build-test-images: $image exists"
    exit 0
fi

root="$(mktemp -d /tmp/orrery-test-image.XXXXXX)"
trap 'rm -rf "$root" "$root.tar" "$root.deb"' EXIT

# A static busybox: the system's when it is one, else the busybox-static package's binary,
# unpacked aside (installing the package would replace a dynamic busybox the system uses).
static() {
    case "$(ldd "$1" 2>&1 || true)" in
    *"not a dynamic executable"*) return 0 ;;
    *) return 1 ;;
    esac
}
busybox=/bin/busybox
if ! { [ -x "$busybox" ] && static "$busybox"; }; then
    mkdir -p "$root.deb"
    (
        cd "$root.deb"
        if ! apt-get download busybox-static >/dev/null 2>&1; then
            apt-get update -qq
            apt-get download busybox-static >/dev/null
        fi
        dpkg-deb -x busybox-static_*.deb unpacked
    )
    busybox="$root.deb/unpacked/bin/busybox"
    static "$busybox" || { echo "build-test-images: $busybox is not static" >&2; exit 1; }
fi

chmod 755 "$root"
mkdir -p "$root"/{bin,etc,tmp,root,home/circleci,var/tmp}
cp "$busybox" "$root/bin/busybox"
# One link per applet, relative so they hold inside the image.
for applet in $("$busybox" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
cat >"$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
circleci:x:3434:3434:circleci:/home/circleci:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >"$root/etc/group" <<'GROUP'
root:x:0:
circleci:x:3434:
nogroup:x:65534:
GROUP
chmod 1777 "$root/tmp" "$root/var/tmp"
chmod 700 "$root/root"

tar --numeric-owner -C "$root" \
    --owner=0 --group=0 --exclude=./home/circleci -cf "$root.tar" .
# The home belongs to circleci.
tar --numeric-owner -C "$root" --owner=3434 --group=3434 -rf "$root.tar" ./home/circleci
docker import \
    -c 'USER circleci' \
    -c 'WORKDIR /home/circleci' \
    -c 'ENV PATH=/bin' \
    -c 'CMD ["/bin/sh"]' \
    "$root.tar" "$image" >/dev/null
echo "build-test-images: built $image ($(docker image inspect -f '{{.Size}}' "$image") bytes)"
