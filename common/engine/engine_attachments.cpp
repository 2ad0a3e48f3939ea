// Engine: attachments and safety numbers.
//
// A file is encrypted on this device with a fresh key (crypto/attachment.h) into
// attachments_dir, and the message waits, stored, until every one of its blobs is on the relay:
// a ticket over the WebSocket (BlobUploadRequest), then an HTTP PUT through the BlobTransport.
// Only then does the DataMessage with each blob's id, key and digest join the outgoing queue.
// Uploads interrupted by a lost connection or a restart start again after the next login.
// Received files stay on the relay until the person downloads one; the blob is kept encrypted
// in the profile, and decrypted (digest and MAC checked first) only into a file they choose.
#include "engine/engine.h"

#include "engine/wire_util.h"

#include "crypto/attachment.h"
#include "crypto/provider.h"
#include "crypto/safety_number.h"
#include "protocol/envelope_codec.h"
#include "protocol/limits.h"
#include "util/hex.h"
#include "util/log.h"

#include <algorithm>

namespace veil::engine {

using detail::bytes_of;

namespace {

constexpr const char* kLog = "engine";

std::string content_type_of(const std::filesystem::path& file) {
    std::string ext = file.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    static const std::pair<const char*, const char*> kTypes[] = {
        {".png", "image/png"},  {".jpg", "image/jpeg"},      {".jpeg", "image/jpeg"},
        {".gif", "image/gif"},  {".webp", "image/webp"},     {".pdf", "application/pdf"},
        {".txt", "text/plain"}, {".zip", "application/zip"}, {".mp4", "video/mp4"},
        {".mp3", "audio/mpeg"}, {".ogg", "audio/ogg"},       {".json", "application/json"},
        {".csv", "text/csv"},   {".md", "text/markdown"},    {".html", "text/html"},
    };
    for (const auto& [e, type] : kTypes)
        if (ext == e)
            return type;
    return "application/octet-stream";
}

} // namespace

Status Engine::prepare_files(const std::vector<std::filesystem::path>& files,
                             std::vector<store::AttachmentRow>& out) {
    if (!m_blobs || m_options.attachments_dir.empty())
        return make_error(Errc::invalid_argument, "this app cannot send files");
    std::error_code ec;
    std::filesystem::create_directories(m_options.attachments_dir, ec);
    if (ec)
        return make_error(Errc::io, "cannot create the attachments folder");
    std::filesystem::permissions(m_options.attachments_dir, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace, ec);
    std::vector<std::filesystem::path> made;
    auto undo = [&made] {
        for (const auto& f : made) {
            std::error_code ignored;
            std::filesystem::remove(f, ignored);
        }
    };
    int index = 0;
    for (const auto& file : files) {
        auto status = std::filesystem::status(file, ec);
        if (ec || !std::filesystem::exists(status)) {
            undo();
            return make_error(Errc::not_found, "cannot read " + file.string() + ": no such file");
        }
        if (!std::filesystem::is_regular_file(status)) {
            undo();
            return make_error(Errc::invalid_argument,
                              "cannot send " + file.string() + ": it is not a regular file");
        }
        auto key = crypto::generate_attachment_key();
        if (!key) {
            undo();
            return key.error();
        }
        auto local =
            m_options.attachments_dir / (to_hex(crypto::random_bytes(16)) + std::string(".blob"));
        auto encrypted = crypto::encrypt_attachment(file, local, key.value());
        if (!encrypted) {
            undo();
            auto e = encrypted.error();
            e.message = file.filename().string() + ": " + e.message;
            return e;
        }
        made.push_back(local);
        store::AttachmentRow a;
        a.index = index++;
        a.key = Bytes(key->view().begin(), key->view().end());
        a.digest = encrypted->digest;
        a.size = encrypted->plain_size;
        a.blob_size = encrypted->blob_size;
        a.file_name = clean_file_name(file.filename().string());
        a.content_type = content_type_of(file);
        a.state = store::AttachmentState::uploading;
        a.local_path = local.string();
        out.push_back(std::move(a));
    }
    return {};
}

void Engine::pump_uploads() {
    if (m_state != State::ready || !m_blobs)
        return;
    auto waiting = m_store.attachments_in(store::AttachmentState::uploading);
    if (!waiting) {
        report(waiting.error());
        return;
    }
    for (const auto& [row_id, index] : waiting.value())
        if (!m_uploading.count({row_id, index}))
            upload_attachment(row_id, index);
}

void Engine::upload_attachment(std::int64_t row_id, int index) {
    auto a = m_store.attachment(row_id, index);
    auto row = m_store.message_by_id(row_id);
    if (!a || !row) {
        report(!a ? a.error() : row.error());
        return;
    }
    if (!a.value() || !row.value())
        return;
    const Bytes message_id = row.value()->message_id;
    const std::string name = a.value()->file_name;
    std::string blob_file = a.value()->local_path;
    auto give_up = [this, row_id, index, message_id, blob_file](const Error& why) {
        m_uploading.erase({row_id, index});
        std::error_code ignored;
        std::filesystem::remove(blob_file, ignored); // encrypted for a message that never goes
        if (auto st = m_store.set_attachment_state(row_id, index, store::AttachmentState::failed,
                                                   std::string());
            !st)
            report(st.error());
        mark_failed(message_id);
        report(why);
        check_settled();
    };
    m_uploading.insert({row_id, index});
    wire::Envelope e;
    e.mutable_blob_upload_request()->set_size(a.value()->blob_size);
    std::string local = a.value()->local_path;
    request(std::move(e), [this, row_id, index, local, name,
                           give_up](const wire::Envelope& response) {
        if (response.has_error()) {
            auto code = response.error().code();
            if (code == wire::Error::TOO_LARGE || code == wire::Error::BAD_REQUEST ||
                code == wire::Error::FORBIDDEN) {
                give_up(make_error(Errc::too_large,
                                   name + " was not sent: " + response.error().message()));
                return;
            }
            m_uploading.erase({row_id, index}); // tried again after the next login
            check_settled();
            return;
        }
        if (!response.has_blob_upload_ticket()) {
            m_uploading.erase({row_id, index});
            check_settled();
            return;
        }
        const auto& ticket = response.blob_upload_ticket();
        std::string blob_id = ticket.blob_id();
        m_blobs->upload(
            m_relay_url, blob_id, ticket.token(), local,
            [this, row_id, index](std::uint64_t done, std::uint64_t total) {
                m_observer.on_transfer(row_id, index, done, total);
            },
            [this, row_id, index, blob_id, name, give_up](Status st) {
                if (!st) {
                    auto code = st.error().code;
                    if (code == Errc::too_large || code == Errc::refused || code == Errc::io) {
                        give_up(make_error(code, name + " was not sent: " + st.error().message));
                        return;
                    }
                    m_uploading.erase({row_id, index});
                    log::info(kLog, "an upload was interrupted; it starts again after the next "
                                    "login");
                    check_settled();
                    return;
                }
                m_uploading.erase({row_id, index});
                Status done = m_store.set_attachment_uploaded(row_id, index, blob_id);
                auto updated = m_store.message_by_id(row_id);
                if (done && !updated)
                    done = updated.error();
                if (!done) {
                    report(done.error());
                    check_settled();
                    return;
                }
                if (updated.value()) {
                    m_observer.on_message_changed(*updated.value());
                    bool all = std::all_of(
                        updated.value()->attachments.begin(), updated.value()->attachments.end(),
                        [](const store::AttachmentRow& x) {
                            return x.state == store::AttachmentState::ready && !x.blob_id.empty();
                        });
                    if (all) {
                        if (auto q = queue_uploaded(*updated.value()); !q)
                            report(q.error());
                        pump_outgoing();
                    }
                }
                check_settled();
            });
    });
}

Status Engine::queue_uploaded(const store::MessageRow& row) {
    wire::Content content;
    auto* data = content.mutable_data();
    data->set_message_id(to_string(row.message_id));
    data->set_text(row.text);
    data->set_sent_at_ms(static_cast<std::uint64_t>(row.sent_at_ms));
    data->set_expire_timer_s(row.expire_timer_s);
    for (const auto& m : row.mentions)
        data->add_mentions(m);
    if (row.quote) {
        data->mutable_quote()->set_message_id(to_string(row.quote->message_id));
        data->mutable_quote()->set_author(row.quote->author);
        data->mutable_quote()->set_text(row.quote->text);
    }
    for (const auto& listed : row.attachments) {
        auto a = m_store.attachment(row.id, listed.index);
        if (!a)
            return a.error();
        if (!a.value())
            return make_error(Errc::not_found, "an attachment went missing");
        detail::attachment_to_wire(*a.value(), data->add_attachments());
    }
    store::AccountStore::Transaction tx(m_store);
    VEIL_TRY(tx.begun());
    VEIL_TRY(queue_for(row.peer, row.message_id, content));
    return tx.commit();
}

void Engine::download(std::int64_t row_id, int index, DoneHandler done) {
    auto fail = [&done](Error e) { done(Status(std::move(e))); };
    if (!m_blobs || m_options.attachments_dir.empty())
        return fail(make_error(Errc::invalid_argument, "this app cannot fetch files"));
    auto a = m_store.attachment(row_id, index);
    if (!a)
        return fail(a.error());
    if (!a.value())
        return fail(make_error(Errc::not_found, "no such file"));
    if (a.value()->state == store::AttachmentState::ready && !a.value()->local_path.empty() &&
        std::filesystem::exists(a.value()->local_path))
        return done(Status{});
    if (a.value()->state == store::AttachmentState::uploading)
        return fail(make_error(Errc::busy, "the file is still being sent"));
    if (m_downloading.count({row_id, index}))
        return fail(make_error(Errc::busy, "the file is already being fetched"));
    if (m_state != State::ready)
        return fail(make_error(Errc::disconnected, "not connected to the relay"));
    std::error_code ec;
    std::filesystem::create_directories(m_options.attachments_dir, ec);
    if (ec)
        return fail(make_error(Errc::io, "cannot create the attachments folder"));
    auto local = m_options.attachments_dir / (to_hex(crypto::random_bytes(16)) + ".blob");
    m_downloading.insert({row_id, index});
    (void)m_store.set_attachment_state(row_id, index, store::AttachmentState::downloading,
                                       std::string());
    m_blobs->download(
        m_relay_url, a.value()->blob_id, local, a.value()->blob_size,
        [this, row_id, index](std::uint64_t got, std::uint64_t total) {
            m_observer.on_transfer(row_id, index, got, total);
        },
        [this, row_id, index, local, done = std::move(done)](Status st) {
            m_downloading.erase({row_id, index});
            Status result = st;
            if (st) {
                std::error_code perms_error;
                std::filesystem::permissions(
                    local, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                    std::filesystem::perm_options::replace, perms_error);
                result = m_store.set_attachment_state(row_id, index, store::AttachmentState::ready,
                                                      local.string());
            } else {
                (void)m_store.set_attachment_state(row_id, index,
                                                   st.error().code == Errc::not_found
                                                       ? store::AttachmentState::failed
                                                       : store::AttachmentState::remote,
                                                   std::string());
                if (st.error().code == Errc::not_found)
                    result = make_error(Errc::not_found,
                                        "the file is no longer on the relay (files expire after "
                                        "the relay's retention period)");
            }
            auto row = m_store.message_by_id(row_id);
            if (row && row.value())
                m_observer.on_message_changed(*row.value());
            done(result);
            check_settled();
        });
}

Status Engine::save_attachment(std::int64_t row_id, int index, const std::filesystem::path& to) {
    auto a = m_store.attachment(row_id, index);
    if (!a)
        return a.error();
    if (!a.value())
        return make_error(Errc::not_found, "no such file");
    if (a.value()->state != store::AttachmentState::ready || a.value()->local_path.empty())
        return make_error(Errc::not_found, "the file has not been fetched yet");
    std::error_code ec;
    if (std::filesystem::exists(to, ec))
        return make_error(Errc::already_exists, to.string() + " exists already");
    SecretBytes key(a.value()->key.data(), a.value()->key.size());
    auto st = crypto::decrypt_attachment(a.value()->local_path, to, key, a.value()->digest,
                                         a.value()->size);
    if (!st && st.error().code == Errc::corrupt) {
        // The copy here is bad: forget it, so the next download fetches the relay's again.
        std::error_code ignored;
        std::filesystem::remove(a.value()->local_path, ignored);
        (void)m_store.set_attachment_state(row_id, index, store::AttachmentState::remote,
                                           std::string());
        return make_error(Errc::corrupt, "the file is damaged or was tampered with; it was not "
                                         "saved");
    }
    return st;
}

// ---- safety numbers --------------------------------------------------------------------------

Result<crypto::SafetyNumber> Engine::fingerprint(const std::string& peer) {
    if (m_username.empty())
        VEIL_TRY(load_account());
    if (!protocol::valid_username(peer) || peer == m_username)
        return make_error(Errc::invalid_argument, "'" + peer + "' is not a contact");
    auto ours = m_store.identity_key_pair();
    if (!ours)
        return ours.error();
    auto theirs = m_store.peer_identity({peer, 1});
    if (!theirs)
        return theirs.error();
    if (!theirs.value())
        return make_error(Errc::not_found,
                          "there is no key for " + peer + " yet: send or receive a message first");
    return crypto::SafetyNumber::compute(m_context, m_username, ours->public_key, peer,
                                         *theirs.value());
}

Result<SafetyNumber> Engine::safety_number(const std::string& peer) {
    auto number = fingerprint(peer);
    if (!number)
        return number.error();
    auto trust = m_store.trust(peer);
    if (!trust)
        return trust.error();
    return SafetyNumber{number->formatted(), number->scannable(), trust.value()};
}

Status Engine::set_verified(const std::string& peer, bool verified) {
    if (!protocol::valid_username(peer))
        return make_error(Errc::invalid_argument, "'" + peer + "' is not a valid username");
    if (verified) {
        // Verifying means the person compared the current key: it also accepts it.
        auto key = m_store.peer_identity({peer, 1});
        if (!key)
            return key.error();
        if (!key.value())
            return make_error(Errc::not_found, "there is no key for " + peer +
                                                   " yet: send or receive a message first");
        VEIL_TRY(m_store.accept_identity(peer));
    }
    VEIL_TRY(m_store.set_verified(peer, verified));
    pump_outgoing();
    return {};
}

Result<bool> Engine::verify_scanned(const std::string& peer,
                                    std::span<const std::uint8_t> scanned) {
    auto number = fingerprint(peer);
    if (!number)
        return number.error();
    switch (number->compare(m_context, scanned)) {
    case crypto::ScanResult::match: VEIL_TRY(set_verified(peer, true)); return true;
    case crypto::ScanResult::mismatch: return false;
    case crypto::ScanResult::different_version:
        return make_error(Errc::invalid_argument, "that code comes from another version of the "
                                                  "app");
    case crypto::ScanResult::malformed: break;
    }
    return make_error(Errc::invalid_argument, "that is not a safety number code");
}

Status Engine::accept_new_identity(const std::string& peer) {
    VEIL_TRY(m_store.accept_identity(peer));
    pump_outgoing();
    return {};
}

} // namespace veil::engine
