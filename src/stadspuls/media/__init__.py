"""Photos and videos citizens send: checked by content, decoded in a separate process, kept byte
for byte (chain of custody) with metadata-stripped copies for staff, and verification aids
(EXIF time and place, C2PA credentials, perceptual-hash matches)."""
