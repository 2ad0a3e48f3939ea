// A test-only tool for secrets_test.cpp: opens the profile in argv[1] with the passphrase on
// stdin and prints its derived database key in hex, so that the test can search every file a
// session wrote for the key itself. It is its own process because the integration tests read
// the relay's plain SQLite database, and SQLCipher must never share a process with it
// (TOOLCHAIN.md). Never built into anything shipped.
#include "store/account_store.h"
#include "util/hex.h"
#include "util/secret_bytes.h"

#include <iostream>
#include <iterator>
#include <string>

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: veil-test-database-key PROFILE_DIR < passphrase\n";
        return 2;
    }
    std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    veil::SecretBytes passphrase = veil::SecretBytes::from_string(text);
    std::fill(text.begin(), text.end(), '\0');
    auto store = veil::store::AccountStore::open(argv[1], passphrase);
    if (!store) {
        std::cerr << "cannot open the profile: " << store.error().message << "\n";
        return 1;
    }
    veil::SecretBytes key = store.value()->database_key();
    std::cout << veil::to_hex(key.view()) << "\n";
    return 0;
}
