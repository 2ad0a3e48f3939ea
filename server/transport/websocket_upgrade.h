// WebSocketUpgrade: answers GET /v1/ws. A valid RFC 6455 upgrade request gets the 101 response;
// the socket is then detached from Poco and a duplicate of it handed to the ReactorPool, so
// the HTTP thread returns at once and no thread is held per connection. Anything else gets
// 400 with a short sentence.
//
// The rules and the answers are shared with the TLS path (tls_upgrade_answer), which reads the
// request from the decrypted stream inside a reactor: one validator, one 101 writer.
//
// WebSocketUpgrade is called on Poco's HTTP threads.
#pragma once

#include "transport/reactor_pool.h"
#include "transport/upgrade_deadlines.h"

#include <Poco/Net/HTTPRequestHandler.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace Poco::Net {
class HTTPRequest;
class HTTPResponse;
class HTTPServerRequest;
} // namespace Poco::Net

namespace veil::relay::transport {

// Why the request is not a valid WebSocket upgrade, or an empty string if it is.
std::string upgrade_problem(const Poco::Net::HTTPRequest& request);
// Turns response into the 101 for a valid upgrade request with this Sec-WebSocket-Key.
void accept_upgrade(Poco::Net::HTTPResponse& response, const std::string& key);
// Turns response into the 400 for a refused upgrade; returns the body to send after it.
std::string refuse_upgrade(Poco::Net::HTTPResponse& response, const std::string& why);

// The largest HTTP request head the TLS path reads before it gives up.
inline constexpr std::size_t kMaxUpgradeRequestBytes = 16 * 1024;

// The TLS path's answer to a complete request head (up to and including the blank line).
struct RawUpgradeAnswer {
    bool upgraded = false; // a 101: the connection continues as a WebSocket
    std::string response;  // the bytes to send (status line, headers, body)
};
RawUpgradeAnswer tls_upgrade_answer(std::string_view head);

class WebSocketUpgrade final : public Poco::Net::HTTPRequestHandler {
public:
    // pool and deadlines must outlive the handler.
    WebSocketUpgrade(ReactorPool& pool, UpgradeDeadlines& deadlines)
        : m_pool(pool)
        , m_deadlines(deadlines) {}

    void handleRequest(Poco::Net::HTTPServerRequest& request,
                       Poco::Net::HTTPServerResponse& response) override;

private:
    ReactorPool& m_pool;
    UpgradeDeadlines& m_deadlines;
};

} // namespace veil::relay::transport
