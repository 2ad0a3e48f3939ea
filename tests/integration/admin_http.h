// The relay's admin listener from a test: one HTTP/1.1 request over loopback, the Prometheus
// text exposition parsed strictly, and /metrics of a relay by its data folder.
#pragma once

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <netinet/in.h>
#include <regex>
#include <sstream>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

namespace veil::test::e2e {

struct HttpAnswer {
    int status = 0;
    std::string body;
};

// One HTTP/1.1 request to the admin listener on loopback, read until the listener closes.
inline HttpAnswer http(const std::string& address, const std::string& method,
                       const std::string& path) {
    const std::size_t colon = address.rfind(':');
    REQUIRE(colon != std::string::npos);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1))));
    REQUIRE(::inet_pton(AF_INET, address.substr(0, colon).c_str(), &to.sin_addr) == 1);
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    timeval timeout{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0);
    const std::string request =
        method + " " + path + " HTTP/1.1\r\nHost: " + address + "\r\nContent-Length: 0\r\n\r\n";
    REQUIRE(::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(request.size()));
    std::string all;
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;)
        all.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    std::smatch m;
    REQUIRE(std::regex_search(all, m, std::regex(R"(^HTTP/1\.1 (\d{3}) )")));
    const std::size_t body = all.find("\r\n\r\n");
    REQUIRE(body != std::string::npos);
    return {std::stoi(m[1].str()), all.substr(body + 4)};
}

// Parses the Prometheus text exposition format (0.0.4): every line must be a # HELP, a # TYPE
// or a sample, and every sample's metric must have had its # TYPE. Returns the samples by
// "name{labels}".
inline std::map<std::string, double> parse_exposition(const std::string& text) {
    REQUIRE(!text.empty());
    REQUIRE(text.back() == '\n');
    const std::regex help(R"(^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S.*$)");
    const std::regex type(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram)$)");
    const std::regex sample(
        R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*")*\})? (-?[0-9.e+-]+|\+Inf|NaN)$)");
    std::map<std::string, double> samples;
    std::map<std::string, std::string> types;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        INFO(line);
        std::smatch m;
        if (std::regex_match(line, m, help))
            continue;
        if (std::regex_match(line, m, type)) {
            types[m[1].str()] = m[2].str();
            continue;
        }
        REQUIRE(std::regex_match(line, m, sample));
        std::string family = m[1].str();
        for (const char* suffix : {"_bucket", "_sum", "_count"})
            if (!types.count(family) && family.size() > std::strlen(suffix) &&
                family.compare(family.size() - std::strlen(suffix), std::string::npos, suffix) == 0)
                family.resize(family.size() - std::strlen(suffix));
        CHECK(types.count(family) == 1);
        samples[m[1].str() + m[2].str()] = std::stod(m[4].str());
    }
    return samples;
}

inline std::string admin_address(const std::filesystem::path& relay_dir) {
    std::ifstream in(relay_dir / "admin.address");
    std::string line;
    std::getline(in, line);
    REQUIRE(!line.empty());
    return line;
}

inline std::map<std::string, double> scrape(const std::filesystem::path& relay_dir) {
    auto answer = http(admin_address(relay_dir), "GET", "/metrics");
    REQUIRE(answer.status == 200);
    return parse_exposition(answer.body);
}

} // namespace veil::test::e2e
