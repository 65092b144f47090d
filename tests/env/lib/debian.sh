# shellcheck shell=bash
# The Debian archive this machine already uses. The mirror URL is read from the
# machine's apt sources, never written into the repository.

# Print "URI KEYRING" of the first `deb` source that serves a release suite (one without
# a "-updates"/"-security" suffix). Reads deb822 *.sources and one-line *.list files.
debian_archive() {
	local files=() f
	for f in /etc/apt/sources.list.d/*.sources; do [[ -e $f ]] && files+=("$f"); done
	if ((${#files[@]})); then
		awk '
			function flush() {
				if (types ~ /(^| )deb( |$)/ && uri != "" && !found) {
					n = split(suites, s, " ")
					for (i = 1; i <= n; i++) if (s[i] !~ /-/) { print uri, keyring; found = 1; break }
				}
				types = uri = suites = keyring = ""
			}
			/^[ \t]*#/ { next }
			/^[ \t]*$/ { flush(); next }
			/^Types:/ { sub(/^Types:[ \t]*/, ""); types = $0 }
			/^URIs:/ { sub(/^URIs:[ \t]*/, ""); split($0, u, " "); uri = u[1] }
			/^Suites:/ { sub(/^Suites:[ \t]*/, ""); suites = $0 }
			/^Signed-By:/ { sub(/^Signed-By:[ \t]*/, ""); keyring = $0 }
			END { flush() }
		' "${files[@]}" | head -n1
	fi
	files=()
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do [[ -e $f ]] && files+=("$f"); done
	if ((${#files[@]})); then
		# deb [signed-by=K opt=v] URI SUITE COMPONENTS...
		sed -n -E 's/^deb[ \t]+(\[([^]]*)\][ \t]+)?([^ \t]+)[ \t]+([^ \t-]+)[ \t].*/\3 \2/p' "${files[@]}" |
			awk '{ k = ""; for (i = 2; i <= NF; i++) if ($i ~ /^signed-by=/) { k = substr($i, 11) } print $1, k }'
	fi
}

# Mirror URI and keyring for $E2E_SUITE, cached in globals after the first call.
E2E_MIRROR=
E2E_KEYRING=
debian_mirror_init() {
	[[ -n $E2E_MIRROR ]] && return 0
	local line
	line=$(debian_archive | head -n1)
	[[ -n $line ]] || die "no Debian archive found in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list"
	E2E_MIRROR=${line%% *}
	E2E_KEYRING=${line#* }
	[[ $E2E_KEYRING == /* && $E2E_KEYRING != "$line" ]] || E2E_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
}

# apt-get with a private source list, index and cache under $E2E_CACHE/apt: it reads the
# deb-src line derived from the machine's archive and leaves the host's apt state alone.
private_apt() { private_apt_in "$E2E_SUITE" "$@"; }

# The private apt state of SUITE: $E2E_SUITE's (binaries and sources) in $E2E_CACHE/apt, any
# other suite's (binaries only, e.g. trixie for etcd 3.5) in $E2E_CACHE/apt-SUITE.
private_apt_root() {
	if [[ $1 == "$E2E_SUITE" ]]; then echo "$E2E_CACHE/apt"; else echo "$E2E_CACHE/apt-$1"; fi
}

# private_apt_in SUITE ARGS...: apt-get ARGS against SUITE's private index.
private_apt_in() {
	local root
	root=$(private_apt_root "$1")
	shift
	mkdir -p "$root/lists/partial" "$root/cache/archives/partial"
	# The background Kubernetes build uses the same index: one apt-get at a time.
	flock "$root/.lock" apt-get -q \
		-o Dir::Etc::SourceList="$root/sources.list" -o Dir::Etc::SourceParts=/dev/null \
		-o Dir::State::Lists="$root/lists" -o Dir::Cache="$root/cache" \
		-o APT::Sandbox::User=root "$@"
}

private_apt_init() {
	local suite=$1 root
	debian_mirror_init
	root=$(private_apt_root "$suite")
	mkdir -p "$root"
	# The same mirror and keyring serve the other suites of the archive.
	echo "deb [signed-by=$E2E_KEYRING] $E2E_MIRROR $suite main" >"$root/sources.list"
	# Sources only for the image suite (the Kubernetes source package).
	if [[ $suite == "$E2E_SUITE" ]]; then
		echo "deb-src [signed-by=$E2E_KEYRING] $E2E_MIRROR $suite main" >>"$root/sources.list"
	fi
	log "apt-get update (private index: $E2E_MIRROR $suite)"
	private_apt_in "$suite" update >"$E2E_LOGS/apt-private-update-$suite.log" 2>&1 ||
		die "private apt-get update failed, see $E2E_LOGS/apt-private-update-$suite.log"
}

# Set up SUITE's private index (default $E2E_SUITE) once per run, on first use. Image
# recipes run in command substitutions and the Kubernetes build in its own process, so
# "done" is a stamp file carrying the run id, not a variable.
private_apt_ready() {
	local suite=${1:-$E2E_SUITE} stamp
	stamp=$(private_apt_root "$suite")/.updated
	[[ -f $stamp && $(cat "$stamp") == "$E2E_RUN_ID" ]] && return 0
	private_apt_init "$suite"
	echo "$E2E_RUN_ID" >"$stamp"
}

# Download .deb files of PACKAGES (for the suite we build images from) into DIR.
download_debs() { download_debs_from "$E2E_SUITE" "$@"; }

# download_debs_from SUITE DIR PACKAGES...: the same from another suite of the archive.
download_debs_from() {
	local suite=$1 dir=$2
	shift 2
	private_apt_ready "$suite"
	mkdir -p "$dir"
	(cd "$dir" && private_apt_in "$suite" download "$@" >>"$E2E_LOGS/apt-download.log" 2>&1) ||
		die "apt-get download $* ($suite) failed, see $E2E_LOGS/apt-download.log"
}
