enum SatchelManifestPlaceholder {}
