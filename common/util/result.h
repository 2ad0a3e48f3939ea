// Result<T>: a value or an Error, shaped like std::expected (which GCC 12 lacks in C++20).
// Errors cross module boundaries as values; exceptions never do.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace veil {

// One code space for the whole core. Each module maps its library's codes onto these; the
// sentence in Error::message is for people and never carries secrets or plaintext.
enum class Errc {
    ok = 0,
    invalid_argument, // the caller passed something malformed
    not_found,
    already_exists,
    io,               // file system or socket failure
    database,         // SQLite/SQLCipher failure
    wrong_passphrase, // the database key does not open the file
    corrupt,          // stored or received bytes are damaged
    crypto,           // a cryptographic operation failed
    untrusted_identity,
    duplicate_message, // already decrypted or already stored
    invalid_message,   // a message that fails to parse or authenticate
    no_session,
    protocol, // the peer broke the wire protocol
    too_large,
    timeout,
    disconnected,
    refused, // the relay said no; see the message
    busy,    // held by someone else (a profile open in another process)
    internal,
};

const char* errc_name(Errc code);

struct Error {
    Errc code = Errc::internal;
    std::string message;
};

template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value)
        : m_v(std::in_place_index<0>, std::move(value)) {}
    Result(Error error)
        : m_v(std::in_place_index<1>, std::move(error)) {}

    bool ok() const { return m_v.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & {
        assert(ok());
        return std::get<0>(m_v);
    }
    const T& value() const& {
        assert(ok());
        return std::get<0>(m_v);
    }
    T&& value() && {
        assert(ok());
        return std::get<0>(std::move(m_v));
    }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    const Error& error() const {
        assert(!ok());
        return std::get<1>(m_v);
    }

private:
    std::variant<T, Error> m_v;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error)
        : m_error(std::move(error))
        , m_ok(false) {}

    bool ok() const { return m_ok; }
    explicit operator bool() const { return ok(); }
    const Error& error() const {
        assert(!ok());
        return m_error;
    }

private:
    Error m_error;
    bool m_ok = true;
};

using Status = Result<void>;

inline Error make_error(Errc code, std::string message) {
    return Error{code, std::move(message)};
}

} // namespace veil

// Propagates an error from an expression returning Result/Status.
#define VEIL_TRY(expr)                                                                             \
    do {                                                                                           \
        auto veil_try_result_ = (expr);                                                            \
        if (!veil_try_result_.ok())                                                                \
            return veil_try_result_.error();                                                       \
    } while (0)
