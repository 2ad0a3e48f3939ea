// The audit's judgement of stored bytes (server/core/store_audit.h).
#include "core/store_audit.h"

#include "support/temp_dir.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

using namespace veil::relay;

namespace {

std::vector<std::uint8_t> random_bytes(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::vector<std::uint8_t> out(n);
    for (auto& b : out)
        b = static_cast<std::uint8_t>(rng());
    return out;
}

void append(std::vector<std::uint8_t>& out, std::initializer_list<std::uint8_t> bytes) {
    out.insert(out.end(), bytes);
}

void append(std::vector<std::uint8_t>& out, const std::vector<std::uint8_t>& bytes) {
    out.insert(out.end(), bytes.begin(), bytes.end());
}

// A SignalMessage as libsignal-protocol-c serializes it: version byte, protobuf (ratchet key,
// counter, previous counter, ciphertext), 8-byte MAC.
std::vector<std::uint8_t> signal_message(std::size_t ciphertext_size) {
    std::vector<std::uint8_t> m = {0x33};
    append(m, {0x0a, 33});
    append(m, random_bytes(33, 1));
    append(m, {0x10, 7, 0x18, 0});
    append(m, {0x22, static_cast<std::uint8_t>(ciphertext_size)});
    append(m, random_bytes(ciphertext_size, 2));
    append(m, random_bytes(8, 3));
    return m;
}

std::vector<std::uint8_t> bytes_of(const std::string& text) {
    return {text.begin(), text.end()};
}

} // namespace

TEST_CASE("a Signal message's shape passes and its damaged versions fail") {
    auto good = signal_message(48);
    CHECK_FALSE(ciphertext_problem(1, good));

    auto wrong_version = good;
    wrong_version[0] = 0x22;
    CHECK(ciphertext_problem(1, wrong_version));

    auto cut = good;
    cut.resize(20);
    CHECK(ciphertext_problem(1, cut));

    // The same bytes are not a sender-key message's framing (no 64-byte signature room).
    CHECK(ciphertext_problem(3, good));
    CHECK(ciphertext_problem(9, good)); // no such type
}

TEST_CASE("text inside a record fails however it is framed") {
    std::string text = "meet me at the old mill at nine";
    std::vector<std::uint8_t> m = {0x33, 0x22, static_cast<std::uint8_t>(text.size())};
    append(m, bytes_of(text));
    append(m, random_bytes(8, 4));
    auto problem = ciphertext_problem(1, m);
    REQUIRE(problem);
    CHECK(problem->find("printable") != std::string::npos);
    CHECK(problem->find("mill") == std::string::npos); // never quoted
    CHECK(longest_printable_run(bytes_of("héllo wörld")) == 11);
}

TEST_CASE("records without ciphertext must be empty") {
    CHECK_FALSE(ciphertext_problem(4, {}));
    CHECK(ciphertext_problem(4, bytes_of("x")));
}

TEST_CASE("blobs pass as the attachment cipher's output and fail as files") {
    veil::test::TempDir dir("veil-audit-blobs");
    auto write = [&](const std::string& name, const std::vector<std::uint8_t>& bytes) {
        std::ofstream(dir.path() / name, std::ios::binary)
            .write(reinterpret_cast<const char*>(bytes.data()),
                   static_cast<std::streamsize>(bytes.size()));
        return dir.path() / name;
    };
    CHECK_FALSE(blob_problem(write("good", random_bytes(16 + 16 * 40 + 32, 5))));
    CHECK(blob_problem(write("odd-size", random_bytes(16 + 16 * 40 + 33, 6))));

    auto png = random_bytes(16 + 16 * 40 + 32, 7);
    const std::uint8_t magic[] = {0x89, 'P', 'N', 'G'};
    std::copy(std::begin(magic), std::end(magic), png.begin());
    auto problem = blob_problem(write("png", png));
    REQUIRE(problem);
    CHECK(problem->find("PNG") != std::string::npos);

    std::vector<std::uint8_t> low(16 + 16 * 40 + 32);
    for (std::size_t i = 0; i < low.size(); ++i)
        low[i] = static_cast<std::uint8_t>(i % 7 == 0 ? 0x80 : 0x81 + i % 3);
    problem = blob_problem(write("low-entropy", low));
    REQUIRE(problem);
    CHECK(problem->find("entropy") != std::string::npos);
}
