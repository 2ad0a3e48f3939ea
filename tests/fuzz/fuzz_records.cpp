// Fuzzes what Veil parses back from its own databases and files, where a damaged disk, a restored
// old backup or an attacker with the file can put any bytes. The first byte picks the record:
//   0  a group's stored GroupChange (client store and relay): parse, parse_group_state on its
//      state, the creation rules for its signer, find_member;
//   1  a stored GroupState on its own (the relay re-reads it for every group send), and the
//      transition from it to itself, which must be refused as stale;
//   2  a pending message's stored Content (the engine's outbox), its padding round trip, and
//      unpad of raw bytes (a decrypted body);
//   3  the profile's kdf file (store/kdf_file.h);
//   4  a link code as people type or paste it (crypto/link.h);
//   5  the linking messages and the account and history they carry (LinkPayload, LinkContent).
// Every parse must fail cleanly or give something that re-serialises and parses again.
#include "crypto/link.h"
#include "protocol/group_rules.h"
#include "protocol/limits.h"
#include "protocol/padding.h"
#include "store/kdf_file.h"
#include "veil.pb.h"

#include <unistd.h>

#include <google/protobuf/stubs/logging.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <string_view>

namespace {

using namespace veil;

template <typename Message>
void reparse(const Message& m) {
    std::string bytes;
    if (!m.SerializeToString(&bytes))
        std::abort();
    Message again;
    if (!again.ParseFromString(bytes))
        std::abort();
}

void group_state(std::string_view bytes) {
    auto state = protocol::parse_group_state(bytes);
    if (!state)
        return;
    reparse(*state);
    if (state->members_size() < 1)
        std::abort(); // parse_group_state promises 1 to 1024 members
    const auto& first = state->members(0).username();
    if (protocol::find_member(*state, first) == nullptr)
        std::abort();
    (void)protocol::check_group_transition(std::nullopt, {}, *state, first);
    // A state moving to itself is never a valid next revision.
    const Bytes hash(32, 0);
    if (protocol::check_group_transition(*state, hash, *state, first))
        std::abort();
}

void group_change(std::span<const std::uint8_t> bytes) {
    wire::GroupChange change;
    if (!change.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
        return;
    reparse(change);
    (void)protocol::group_signed_bytes(change.state());
    auto state = protocol::parse_group_state(change.state());
    if (!state)
        return;
    (void)protocol::check_group_transition(std::nullopt, {}, *state, change.signer());
    (void)protocol::find_member(*state, change.signer());
}

void content(std::span<const std::uint8_t> bytes) {
    (void)protocol::unpad(bytes);
    wire::Content c;
    if (!c.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
        return;
    reparse(c);
    const std::string serialized = c.SerializeAsString();
    const Bytes padded = protocol::pad(
        std::span(reinterpret_cast<const std::uint8_t*>(serialized.data()), serialized.size()));
    if (padded.size() % protocol::kPaddingBlock != 0)
        std::abort();
    auto unpadded = protocol::unpad(padded);
    if (!unpadded || std::string(unpadded->begin(), unpadded->end()) != serialized)
        std::abort();
}

void kdf_file(std::span<const std::uint8_t> bytes) {
    static const std::filesystem::path file =
        std::filesystem::temp_directory_path() / ("veil-fuzz-kdf-" + std::to_string(getpid()));
    {
        std::ofstream out(file, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(bytes.data()),
                  static_cast<std::streamsize>(bytes.size()));
    }
    auto kdf = store::read_kdf_file(file);
    if (kdf) {
        if (!store::check_kdf_params(kdf->params))
            std::abort(); // read_kdf_file promises parameters within the bounds
        if (kdf->salt.size() != store::kSaltBytes)
            std::abort();
    }
}

void link_code(std::span<const std::uint8_t> bytes) {
    const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    auto code = crypto::parse_link_code(text);
    if (!code)
        return;
    // A code that parses formats back to one that parses to the same channel and secret.
    const std::string formatted = crypto::format_link_code(code->channel, code->secret);
    auto again = crypto::parse_link_code(formatted);
    if (!again || again->channel != code->channel ||
        !std::equal(again->secret.view().begin(), again->secret.view().end(),
                    code->secret.view().begin(), code->secret.view().end()))
        std::abort();
}

void link_messages(std::span<const std::uint8_t> bytes) {
    wire::LinkPayload payload;
    if (payload.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
        reparse(payload);
    wire::LinkContent linked;
    if (linked.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
        reparse(linked);
        if (linked.has_account())
            for (const auto& g : linked.account().groups())
                (void)protocol::parse_group_state(g.latest().state());
    }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    // protobuf logs every string field that is not UTF-8; the fuzzer makes millions of them.
    google::protobuf::SetLogHandler(nullptr);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1)
        return 0;
    const std::span<const std::uint8_t> rest(data + 1, size - 1);
    switch (data[0] % 6) {
    case 0: group_change(rest); break;
    case 1:
        group_state(std::string_view(reinterpret_cast<const char*>(rest.data()), rest.size()));
        break;
    case 2: content(rest); break;
    case 3: kdf_file(rest); break;
    case 4: link_code(rest); break;
    case 5: link_messages(rest); break;
    }
    return 0;
}
