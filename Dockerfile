# The CI image: nothing but the static rke binary (musl, built by scripts/build-image.sh, which
# also passes the build context). FROM scratch: no base image is pulled, no shell, no libc.
#
#   docker run --rm -v "$PWD:/cluster" -v "$HOME/.ssh:/root/.ssh:ro" rke:test up
#
# No CA bundle: the only public TLS peers (S3 for snapshots, https addon includes) are checked
# against the Mozilla roots compiled into rke; the cluster's own endpoints use the cluster CA.
FROM scratch
# rootfs/ holds an empty /tmp (mode 1777): snapshot save/restore stage archives there.
COPY rootfs/ /
COPY rke /rke
# Mount the directory holding cluster.yml here: rke's default --config is ./cluster.yml, and
# cluster.rkestate and kube_config_cluster.yml are written next to it.
WORKDIR /cluster
ENV HOME=/root
ENTRYPOINT ["/rke"]
CMD ["--help"]
