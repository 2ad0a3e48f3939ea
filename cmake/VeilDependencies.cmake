# Finds every third-party dependency once, as imported targets.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(OpenSSL 3 REQUIRED)

# libsignal-protocol-c ships only a pkg-config file. Its suggested -I would put generic names
# such as protocol.h on the include path, so we include it as <signal/...> from /usr/include.
pkg_check_modules(SIGNAL REQUIRED IMPORTED_TARGET libsignal-protocol-c)
add_library(veil_signal INTERFACE)
target_link_libraries(veil_signal INTERFACE ${SIGNAL_LINK_LIBRARIES})

# SQLCipher is for clients only; the relay links plain SQLite (TOOLCHAIN.md).
pkg_check_modules(SQLCIPHER REQUIRED IMPORTED_TARGET sqlcipher)
pkg_check_modules(ARGON2 REQUIRED IMPORTED_TARGET libargon2)

# QR codes for link codes, drawn by the terminal and desktop apps.
pkg_check_modules(QRENCODE REQUIRED IMPORTED_TARGET libqrencode)
# Grapheme clusters: where the terminal app's cursor may stop and its lines may break.
pkg_check_modules(UTF8PROC REQUIRED IMPORTED_TARGET libutf8proc)

find_package(SQLite3 REQUIRED)
# The relay's PostgreSQL store talks to the server through libpq directly (server/core/pg_db.h).
pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET libpq)
find_package(Protobuf REQUIRED)

# Debian's Poco config refers to a PostgreSQL::client target nobody defines.
if(NOT TARGET PostgreSQL::client)
    add_library(PostgreSQL::client INTERFACE IMPORTED)
endif()
find_package(Poco REQUIRED COMPONENTS Foundation Net Util JSON)

find_package(Qt6 REQUIRED COMPONENTS Core Network WebSockets)
if(VEIL_BUILD_DESKTOP)
    find_package(Qt6 REQUIRED COMPONENTS Widgets)
endif()

set(CURSES_NEED_WIDE TRUE)
find_package(Curses REQUIRED)

if(VEIL_BUILD_TESTS)
    find_package(Catch2 2 REQUIRED)
endif()
