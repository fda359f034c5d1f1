# Installation layout and the Debian package (issue 7). Included last by the top-level
# CMakeLists.txt, so every target exists. `scripts/package` builds the .deb; docs/operations.md
# describes what it installs. Configure with -DCMAKE_INSTALL_PREFIX=/usr (scripts/package does).
#
#   /usr/bin/kmirrord, kmirrorctl (when built), kmirror-sandbox (KMIRROR_PACKAGE_SANDBOX)
#   /lib/systemd/system/kmirrord.service, kmirrord@.service
#   /etc/kmirror/kmirrord.toml                       (conffile; from configs/kmirrord.toml)
#   /usr/share/kmirror/grafana/kmirror.json, kmirror-alerts.yml
#   /usr/share/doc/kmirror/*.md, examples/*.toml

option(KMIRROR_PACKAGE_SANDBOX "Install kmirror-sandbox (embedded test clusters) as well" ON)

set(KMIRROR_DEBIAN_DIR ${CMAKE_SOURCE_DIR}/scripts/debian)

install(TARGETS kmirrord RUNTIME DESTINATION bin)
if(TARGET kmirrorctl)
  install(TARGETS kmirrorctl RUNTIME DESTINATION bin)
endif()
if(KMIRROR_PACKAGE_SANDBOX)
  install(TARGETS kmirror-sandbox RUNTIME DESTINATION bin)
endif()

# Debian 12 keeps units under /lib (usrmerge makes it /usr/lib as well).
install(FILES ${CMAKE_SOURCE_DIR}/systemd/kmirrord.service ${CMAKE_SOURCE_DIR}/systemd/kmirrord@.service
        DESTINATION /lib/systemd/system)
install(FILES ${CMAKE_SOURCE_DIR}/configs/kmirrord.toml DESTINATION /etc/kmirror)
install(FILES ${CMAKE_SOURCE_DIR}/grafana/kmirror.json ${CMAKE_SOURCE_DIR}/grafana/kmirror-alerts.yml
              ${CMAKE_SOURCE_DIR}/grafana/README.md
        DESTINATION share/kmirror/grafana)
file(GLOB KMIRROR_DOCS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/docs/*.md)
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${KMIRROR_DOCS} DESTINATION share/doc/kmirror)
file(GLOB KMIRROR_EXAMPLES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/configs/*.toml)
install(FILES ${KMIRROR_EXAMPLES} DESTINATION share/doc/kmirror/examples)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME kmirror)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Kafka cross-cluster replication daemon (MirrorMaker 2 compatible)")
set(CPACK_PACKAGE_DESCRIPTION
    "kmirrord copies topics from a source Kafka cluster to a target cluster with exact offset\n"
    "translation, keeps consumer-group positions usable on the target, and speaks MirrorMaker 2's\n"
    "checkpoint, heartbeat and offset-sync formats. It runs as a systemd service and comes with a\n"
    "Grafana dashboard and Prometheus alert rules.")
list(JOIN CPACK_PACKAGE_DESCRIPTION "" CPACK_PACKAGE_DESCRIPTION)
set(CPACK_PACKAGE_CONTACT "kmirror maintainers <kmirror@localhost>" CACHE STRING
    "Maintainer field of the Debian package")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Library dependencies from dpkg-shlibdeps (librdkafka1, libre2-9, libprometheus-cpp-*, ...);
# the maintainer scripts need adduser; the units need systemd >= 247 (ProtectProc=).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "systemd (>= 247)")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "kcat, prometheus")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${KMIRROR_DEBIAN_DIR}/conffiles ${KMIRROR_DEBIAN_DIR}/postinst ${KMIRROR_DEBIAN_DIR}/prerm
    ${KMIRROR_DEBIAN_DIR}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# Only the files above: nothing from tests or benchmarks.
set(CPACK_STRIP_FILES ON)
include(CPack)
