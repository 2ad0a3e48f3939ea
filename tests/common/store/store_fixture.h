// Shared helpers for the store tests: a temporary profile folder per test and cheap Argon2id
// parameters (the production default, 64 MiB and three passes, is tested once on its own).
#pragma once

#include "support/temp_dir.h"

#include "store/account_store.h"
#include "util/hex.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <string>
#include <unistd.h>

namespace veil::store::test {

inline KdfParams fast_kdf() {
    return KdfParams{1, 64, 1};
}

inline SecretBytes passphrase(std::string_view text = "correct horse battery staple") {
    return SecretBytes::from_string(text);
}

// A folder under the system temp directory, removed with everything in it at the end of the
// test. The profile itself is a subfolder that create() makes.
class TempProfile {
public:
    std::filesystem::path dir() const { return m_root.path() / "profile"; }
    std::filesystem::path db() const { return dir() / "account.db"; }

private:
    veil::test::TempDir m_root{"veil-store-test"};
};

inline std::unique_ptr<AccountStore> create_store(const TempProfile& profile) {
    auto store = AccountStore::create(profile.dir(), passphrase(), fast_kdf());
    INFO((store ? std::string() : store.error().message));
    REQUIRE(store.ok());
    return std::move(store.value());
}

inline std::unique_ptr<AccountStore> open_store(const TempProfile& profile) {
    auto store = AccountStore::open(profile.dir(), passphrase());
    INFO((store ? std::string() : store.error().message));
    REQUIRE(store.ok());
    return std::move(store.value());
}

inline std::string read_file(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_file(const std::filesystem::path& file, const std::string& content) {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
}

inline Bytes message_id(std::uint8_t n) {
    Bytes id(16, 0xa5);
    id[15] = n;
    return id;
}

inline MessageRow incoming(const std::string& peer, std::uint8_t n, const std::string& text,
                           std::int64_t at_ms) {
    MessageRow row;
    row.peer = peer;
    row.message_id = message_id(n);
    row.direction = Direction::incoming;
    row.sender = peer;
    row.text = text;
    row.sent_at_ms = at_ms - 5;
    row.received_at_ms = at_ms;
    row.status = MessageStatus::received;
    return row;
}

inline MessageRow outgoing(const std::string& peer, std::uint8_t n, const std::string& text,
                           std::int64_t at_ms) {
    MessageRow row;
    row.peer = peer;
    row.message_id = message_id(n);
    row.direction = Direction::outgoing;
    row.sender = "me";
    row.text = text;
    row.sent_at_ms = at_ms;
    row.received_at_ms = at_ms;
    row.status = MessageStatus::queued;
    return row;
}

} // namespace veil::store::test
