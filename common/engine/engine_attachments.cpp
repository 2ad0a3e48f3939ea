// Engine: attachments (files encrypted on this device, blobs on the relay) and safety numbers.
#include "engine/engine.h"

#include "engine/wire_util.h"

namespace veil::engine {

Status Engine::prepare_files(const std::vector<std::filesystem::path>&,
                             std::vector<store::AttachmentRow>&) {
    return make_error(Errc::internal, "attachments are not available yet");
}

void Engine::pump_uploads() {}

void Engine::upload_attachment(std::int64_t, int) {}

Status Engine::queue_uploaded(const store::MessageRow&) {
    return make_error(Errc::internal, "attachments are not available yet");
}

void Engine::download(std::int64_t, int, DoneHandler done) {
    done(make_error(Errc::internal, "attachments are not available yet"));
}

Status Engine::save_attachment(std::int64_t, int, const std::filesystem::path&) {
    return make_error(Errc::internal, "attachments are not available yet");
}

Result<SafetyNumber> Engine::safety_number(const std::string&) {
    return make_error(Errc::internal, "safety numbers are not available yet");
}

Status Engine::set_verified(const std::string& peer, bool verified) {
    return m_store.set_verified(peer, verified);
}

Result<bool> Engine::verify_scanned(const std::string&, std::span<const std::uint8_t>) {
    return make_error(Errc::internal, "safety numbers are not available yet");
}

Status Engine::accept_new_identity(const std::string& peer) {
    VEIL_TRY(m_store.accept_identity(peer));
    pump_outgoing();
    return {};
}

} // namespace veil::engine
