#include "crypto/attachment.h"
#include "crypto/provider.h"
#include "support/temp_dir.h"
#include "util/hex.h"

#include <catch2/catch.hpp>

#include <sys/resource.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

using namespace veil;
using namespace veil::crypto;
namespace fs = std::filesystem;

namespace {

SecretBytes make_key() {
    auto key = generate_attachment_key();
    REQUIRE(key.ok());
    return std::move(key).value();
}

// Deterministic bytes that are not all alike, so that misplaced blocks show up.
Bytes pattern(std::size_t size, std::uint32_t seed = 1) {
    Bytes out(size);
    std::uint32_t x = seed * 2654435761u + 1;
    for (auto& b : out) {
        x = x * 1664525u + 1013904223u;
        b = static_cast<std::uint8_t>(x >> 24);
    }
    return out;
}

void write_file(const fs::path& path, const Bytes& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    REQUIRE(out.good());
}

Bytes read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in.good());
    return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::size_t entries(const fs::path& dir) {
    return static_cast<std::size_t>(
        std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

// A blob on disk and what decrypting it needs.
struct Sealed {
    test::TempDir dir{"veil-attachment"};
    SecretBytes key = make_key();
    Bytes plain;
    EncryptedAttachment info;

    explicit Sealed(std::size_t size) {
        plain = pattern(size, static_cast<std::uint32_t>(size));
        write_file(plain_path(), plain);
        auto sealed = encrypt_attachment(plain_path(), blob_path(), key);
        REQUIRE(sealed.ok());
        info = std::move(sealed).value();
    }

    fs::path plain_path() const { return dir.path() / "plain.bin"; }
    fs::path blob_path() const { return dir.path() / "blob.bin"; }
    fs::path out_path() const { return dir.path() / "out.bin"; }

    Status open(const Bytes& digest) const {
        return decrypt_attachment(blob_path(), out_path(), key, digest, plain.size());
    }
    Status open() const { return open(info.digest); }
};

void require_refused(const Sealed& sealed, Status status) {
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().code == Errc::corrupt);
    CHECK_FALSE(fs::exists(sealed.out_path()));
    CHECK(entries(sealed.dir.path()) == 2); // plain.bin and blob.bin: no temporary file left
}

} // namespace

TEST_CASE("an attachment key is 64 fresh random bytes") {
    auto a = make_key();
    auto b = make_key();
    CHECK(a.size() == kAttachmentKeyBytes);
    CHECK(b.size() == kAttachmentKeyBytes);
    CHECK_FALSE(std::equal(a.view().begin(), a.view().end(), b.view().begin()));
}

TEST_CASE("the padding bucket is at least 541 bytes and costs at most 5 percent") {
    CHECK(attachment_padded_size(0) == 541);
    CHECK(attachment_padded_size(1) == 541);
    CHECK(attachment_padded_size(541) == 541);
    CHECK(attachment_padded_size(542) > 541);
    std::uint64_t previous = 0;
    for (std::uint64_t size : {1ull, 100ull, 541ull, 542ull, 1000ull, 65536ull, 1048579ull,
                               31457280ull, 104857600ull, 1ull << 40}) {
        std::uint64_t padded = attachment_padded_size(size);
        CHECK(padded >= size);
        CHECK(padded >= previous);
        if (size > 541)
            CHECK(padded - size <= size / 20 + 1);
        previous = padded;
    }
}

TEST_CASE("an attachment file survives a round trip at every interesting size") {
    auto size = GENERATE(as<std::size_t>{}, 0, 1, 15, 16, 17, 541, 542, 1024 * 1024 + 3);
    CAPTURE(size);
    Sealed sealed(size);
    CHECK(sealed.info.plain_size == size);
    CHECK(sealed.info.blob_size == attachment_blob_size(size));
    CHECK(fs::file_size(sealed.blob_path()) == sealed.info.blob_size);
    auto digest = sha256(read_file(sealed.blob_path()));
    REQUIRE(digest.ok());
    CHECK(*digest == sealed.info.digest);

    REQUIRE(sealed.open().ok());
    CHECK(read_file(sealed.out_path()) == sealed.plain);
    CHECK(entries(sealed.dir.path()) == 3);
}

TEST_CASE("a 30 MiB attachment survives a round trip") {
    Sealed sealed(30 * 1024 * 1024);
    CHECK(sealed.info.blob_size == attachment_blob_size(sealed.plain.size()));
    REQUIRE(sealed.open().ok());
    CHECK(read_file(sealed.out_path()) == sealed.plain);
}

namespace {

// The peak resident size of this process so far, in KiB.
long peak_rss_kib() {
    rusage usage{};
    REQUIRE(::getrusage(RUSAGE_SELF, &usage) == 0);
    return usage.ru_maxrss;
}

// Compares two files a chunk at a time.
bool same_file(const fs::path& a, const fs::path& b) {
    std::ifstream in_a(a, std::ios::binary), in_b(b, std::ios::binary);
    std::vector<char> chunk_a(1 << 20), chunk_b(1 << 20);
    while (in_a && in_b) {
        in_a.read(chunk_a.data(), static_cast<std::streamsize>(chunk_a.size()));
        in_b.read(chunk_b.data(), static_cast<std::streamsize>(chunk_b.size()));
        if (in_a.gcount() != in_b.gcount() ||
            !std::equal(chunk_a.begin(), chunk_a.begin() + in_a.gcount(), chunk_b.begin()))
            return false;
    }
    return in_a.eof() && in_b.eof();
}

} // namespace

TEST_CASE("a 100 MiB attachment is encrypted and decrypted without holding it in memory") {
    test::TempDir dir{"veil-attachment"};
    auto key = make_key();
    const std::size_t chunk = 1024 * 1024;
    const std::size_t size = 100 * chunk + 5;
    {
        std::ofstream out(dir.path() / "plain.bin", std::ios::binary);
        Bytes block = pattern(chunk, 3);
        for (std::size_t done = 0; done < size; done += chunk)
            out.write(reinterpret_cast<const char*>(block.data()),
                      static_cast<std::streamsize>(std::min(chunk, size - done)));
        REQUIRE(out.good());
    }
    long before = peak_rss_kib();

    auto sealed = encrypt_attachment(dir.path() / "plain.bin", dir.path() / "blob.bin", key);
    REQUIRE(sealed.ok());
    REQUIRE(decrypt_attachment(dir.path() / "blob.bin", dir.path() / "out.bin", key, sealed->digest,
                               size)
                .ok());

    // Both ways stream in 64 KiB chunks; a whole copy would add 100 MiB.
    CHECK(peak_rss_kib() - before < 16 * 1024);
    CHECK(same_file(dir.path() / "plain.bin", dir.path() / "out.bin"));
    CHECK(sealed->blob_size == attachment_blob_size(size));
}

TEST_CASE("the blob is IV, AES-256-CBC of the padded plaintext and an HMAC over both") {
    auto key = make_key();
    Bytes plain = pattern(1000);
    auto sealed = encrypt_attachment(plain, key);
    REQUIRE(sealed.ok());
    const Bytes& blob = sealed->blob;
    REQUIRE(blob.size() == attachment_blob_size(plain.size()));

    std::span<const std::uint8_t> all(blob);
    auto iv = all.first(16);
    auto ciphertext = all.subspan(16, blob.size() - 16 - 32);
    auto tag = all.last(32);
    auto mac = hmac_sha256(key.view().subspan(32), all.first(blob.size() - 32));
    REQUIRE(mac.ok());
    CHECK(std::equal(tag.begin(), tag.end(), mac->begin()));

    auto opened = aes_cbc_decrypt(key.view().first(32), iv, ciphertext);
    REQUIRE(opened.ok());
    Bytes padded = plain;
    padded.resize(attachment_padded_size(plain.size()), 0);
    CHECK(*opened == padded);
}

TEST_CASE("two plaintexts in one bucket give blobs of the same size") {
    std::uint64_t top = attachment_padded_size(100000);
    Sealed small(static_cast<std::size_t>(top - 3000));
    Sealed large(static_cast<std::size_t>(top));
    REQUIRE(attachment_padded_size(top - 3000) == top);
    CHECK(small.info.blob_size == large.info.blob_size);
    CHECK(fs::file_size(small.blob_path()) == fs::file_size(large.blob_path()));

    Sealed one(1);
    Sealed five_hundred(541);
    CHECK(one.info.blob_size == five_hundred.info.blob_size);
}

TEST_CASE("a flipped byte anywhere in the blob is refused and writes no plaintext") {
    Sealed sealed(5000);
    Bytes blob = read_file(sealed.blob_path());
    auto where = GENERATE(as<std::size_t>{}, 0, 15, 16, 100, 2600, 5100);
    CAPTURE(where);
    std::size_t offset = where < blob.size() ? where : blob.size() - 1; // the last is the MAC
    blob[offset] ^= 0x01;
    write_file(sealed.blob_path(), blob);

    require_refused(sealed, sealed.open());
}

TEST_CASE("a tampered blob is refused by its MAC even when the digest matches it") {
    Sealed sealed(5000);
    Bytes blob = read_file(sealed.blob_path());
    auto where = GENERATE(as<std::size_t>{}, 3, 40, 4000);
    CAPTURE(where);
    blob[where] ^= 0x80;
    write_file(sealed.blob_path(), blob);
    auto digest = sha256(blob);
    REQUIRE(digest.ok());

    require_refused(sealed, sealed.open(*digest));
}

TEST_CASE("a flipped byte in the MAC is refused") {
    Sealed sealed(17);
    Bytes blob = read_file(sealed.blob_path());
    blob[blob.size() - 1] ^= 0x40;
    write_file(sealed.blob_path(), blob);
    auto digest = sha256(blob);
    REQUIRE(digest.ok());

    require_refused(sealed, sealed.open(*digest));
    require_refused(sealed, sealed.open());
}

TEST_CASE("a truncated or extended blob is refused") {
    Sealed sealed(2000);
    Bytes blob = read_file(sealed.blob_path());
    SECTION("one byte short") {
        blob.pop_back();
    }
    SECTION("one block short") {
        blob.resize(blob.size() - 16);
    }
    SECTION("one byte more") {
        blob.push_back(0);
    }
    SECTION("one block more") {
        blob.insert(blob.end() - 32, 16, 0);
    }
    SECTION("empty") {
        blob.clear();
    }
    write_file(sealed.blob_path(), blob);
    require_refused(sealed, sealed.open());
}

TEST_CASE("the wrong key, digest or size is refused") {
    Sealed sealed(3000);
    SECTION("another key") {
        auto other = make_key();
        require_refused(sealed, decrypt_attachment(sealed.blob_path(), sealed.out_path(), other,
                                                   sealed.info.digest, sealed.plain.size()));
    }
    SECTION("the right AES key with another MAC key") {
        SecretBytes other = sealed.key.clone();
        other.data()[40] ^= 1;
        require_refused(sealed, decrypt_attachment(sealed.blob_path(), sealed.out_path(), other,
                                                   sealed.info.digest, sealed.plain.size()));
    }
    SECTION("another digest") {
        Bytes digest = sealed.info.digest;
        digest[31] ^= 1;
        require_refused(sealed, sealed.open(digest));
    }
    SECTION("another plaintext size in the same bucket") {
        require_refused(sealed, decrypt_attachment(sealed.blob_path(), sealed.out_path(),
                                                   sealed.key, sealed.info.digest, 2999));
    }
    SECTION("an implausible plaintext size") {
        require_refused(sealed, decrypt_attachment(sealed.blob_path(), sealed.out_path(),
                                                   sealed.key, sealed.info.digest, ~0ull));
    }
}

TEST_CASE("a failed decrypt leaves an existing file at the target as it was") {
    Sealed sealed(100);
    Bytes before = to_bytes("what was there before");
    write_file(sealed.out_path(), before);
    Bytes digest = sealed.info.digest;
    digest[0] ^= 1;
    auto status = sealed.open(digest);
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().code == Errc::corrupt);
    CHECK(read_file(sealed.out_path()) == before);
    CHECK(entries(sealed.dir.path()) == 3);
}

TEST_CASE("a successful decrypt replaces an existing file at the target") {
    Sealed sealed(100);
    write_file(sealed.out_path(), pattern(7000, 9));
    REQUIRE(sealed.open().ok());
    CHECK(read_file(sealed.out_path()) == sealed.plain);
    CHECK(entries(sealed.dir.path()) == 3);
}

TEST_CASE("bad arguments and missing files are reported as such") {
    Sealed sealed(10);
    SecretBytes short_key(32);
    auto encrypted = encrypt_attachment(sealed.plain_path(), sealed.dir.path() / "x", short_key);
    REQUIRE_FALSE(encrypted.ok());
    CHECK(encrypted.error().code == Errc::invalid_argument);

    auto status = decrypt_attachment(sealed.blob_path(), sealed.out_path(), short_key,
                                     sealed.info.digest, 10);
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().code == Errc::invalid_argument);

    status = decrypt_attachment(sealed.blob_path(), sealed.out_path(), sealed.key, Bytes(31), 10);
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().code == Errc::invalid_argument);

    encrypted =
        encrypt_attachment(sealed.dir.path() / "missing", sealed.dir.path() / "x", sealed.key);
    REQUIRE_FALSE(encrypted.ok());
    CHECK(encrypted.error().code == Errc::io);

    status = decrypt_attachment(sealed.dir.path() / "missing", sealed.out_path(), sealed.key,
                                sealed.info.digest, 10);
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().code == Errc::io);

    encrypted = encrypt_attachment(sealed.plain_path(), sealed.dir.path() / "no" / "x", sealed.key);
    REQUIRE_FALSE(encrypted.ok());
    CHECK(encrypted.error().code == Errc::io);
    CHECK(entries(sealed.dir.path()) == 2);
}

TEST_CASE("the decrypted file is readable by its owner only") {
    Sealed sealed(10);
    REQUIRE(sealed.open().ok());
    auto perms = fs::status(sealed.out_path()).permissions();
    CHECK((perms & (fs::perms::group_all | fs::perms::others_all)) == fs::perms::none);
}

TEST_CASE("attachments in memory survive a round trip and refuse tampering") {
    auto key = make_key();
    auto size = GENERATE(as<std::size_t>{}, 0, 1, 16, 541, 70000);
    CAPTURE(size);
    Bytes plain = pattern(size, 7);
    auto sealed = encrypt_attachment(plain, key);
    REQUIRE(sealed.ok());
    CHECK(sealed->info.plain_size == size);
    CHECK(sealed->info.blob_size == sealed->blob.size());

    auto opened = decrypt_attachment(sealed->blob, key, sealed->info.digest, size);
    REQUIRE(opened.ok());
    CHECK(Bytes(opened->view().begin(), opened->view().end()) == plain);

    Bytes tampered = sealed->blob;
    tampered[tampered.size() / 2] ^= 4;
    auto digest = sha256(tampered);
    REQUIRE(digest.ok());
    auto refused = decrypt_attachment(tampered, key, *digest, size);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code == Errc::corrupt);

    Bytes shorter(sealed->blob.begin(), sealed->blob.end() - 1);
    refused = decrypt_attachment(shorter, key, sealed->info.digest, size);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code == Errc::corrupt);
}

TEST_CASE("encrypting the same file twice gives different blobs") {
    Sealed sealed(64);
    auto again = encrypt_attachment(sealed.plain_path(), sealed.dir.path() / "again", sealed.key);
    REQUIRE(again.ok());
    CHECK(again->digest != sealed.info.digest);
    CHECK(again->blob_size == sealed.info.blob_size);
}
