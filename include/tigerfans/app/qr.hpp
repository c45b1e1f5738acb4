// QR codes for tickets, drawn server-side as SVG with libqrencode (no script fetched at run time).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tigerfans::app {

// An SVG image of `text` as a QR code (error correction M, 4-module quiet zone); nullopt when
// the text cannot be encoded.
std::optional<std::string> qr_svg(std::string_view text);

}  // namespace tigerfans::app
