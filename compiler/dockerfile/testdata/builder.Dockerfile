FROM etk.local/distro/base:abc
COPY --from=etk.local/system/kernel:def-artefact / /
COPY . /luetbuild
WORKDIR /luetbuild
ENV PACKAGE_NAME=grub
ENV PACKAGE_VERSION=0.1.0
ENV PACKAGE_CATEGORY=system
ADD https://example.org/x.tar.gz /luetbuild/
COPY --from=etk.local/toolchain/tool:456 /usr/bin/tool /usr/bin/tool
ENV DEBIAN_FRONTEND=noninteractive
ENV LDFLAGS="-s -w"
RUN apt-get update
