// A test-only tool that reads a profile for the integration tests, with the passphrase on stdin:
//   key PROFILE_DIR    prints the derived database key in hex (secrets_test.cpp searches every
//                      file a session wrote for it);
//   texts PROFILE_DIR  prints every stored message as "conversation<TAB>text", one a line, each
//                      conversation in stored order (catchup_test.cpp checks a catch-up of
//                      100,000 messages, more than the daemon's search answers).
// It is its own process because the integration tests read the relay's plain SQLite database,
// and SQLCipher must never share a process with it (TOOLCHAIN.md). Never built into anything
// shipped.
#include "store/account_store.h"
#include "util/hex.h"
#include "util/secret_bytes.h"

#include <iostream>
#include <iterator>
#include <limits>
#include <string>

namespace {

int usage() {
    std::cerr << "usage: veil-test-profile-probe key|texts PROFILE_DIR < passphrase\n";
    return 2;
}

int print_texts(veil::store::AccountStore& store) {
    auto conversations = store.conversations();
    if (!conversations) {
        std::cerr << "cannot list the conversations: " << conversations.error().message << "\n";
        return 1;
    }
    for (const auto& c : conversations.value()) {
        auto rows = store.messages(c.peer, std::numeric_limits<int>::max());
        if (!rows) {
            std::cerr << "cannot read a conversation: " << rows.error().message << "\n";
            return 1;
        }
        for (const auto& row : rows.value())
            std::cout << c.peer << '\t' << row.text << '\n';
    }
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 3)
        return usage();
    const std::string mode = argv[1];
    if (mode != "key" && mode != "texts")
        return usage();
    std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    veil::SecretBytes passphrase = veil::SecretBytes::from_string(text);
    std::fill(text.begin(), text.end(), '\0');
    auto store = veil::store::AccountStore::open(argv[2], passphrase);
    if (!store) {
        std::cerr << "cannot open the profile: " << store.error().message << "\n";
        return 1;
    }
    if (mode == "texts")
        return print_texts(*store.value());
    veil::SecretBytes key = store.value()->database_key();
    std::cout << veil::to_hex(key.view()) << "\n";
    return 0;
}
