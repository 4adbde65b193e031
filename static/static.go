// Package static embeds the site's stylesheets, scripts and images.
package static

import "embed"

// FS holds css/, js/ and img/.
//
//go:embed css js img
var FS embed.FS
