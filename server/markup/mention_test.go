package markup

import (
	"strings"
	"testing"
)

func TestRenderMentions(t *testing.T) {
	people := map[string]bool{"sam.support": true, "casey": true}
	isPerson := func(name string) bool { return people[strings.ToLower(name)] }
	for src, want := range map[string]string{
		"Thanks @casey!": `<p>Thanks <a href="/users/casey" rel="nofollow ugc noopener">@casey</a>!</p>`,
		"@Sam.Support, see above.\nAnd @nobody here.": `<p><a href="/users/sam.support" rel="nofollow ugc noopener">@Sam.Support</a>, see above.<br>` +
			"\nAnd @nobody here.</p>",
		"mail casey@example.com or `@casey`": `<p>mail <a href="mailto:casey@example.com" rel="nofollow ugc noopener">casey@example.com</a> or <code>@casey</code></p>`,
		"[@casey](https://example.com)":      `<p><a href="https://example.com" rel="nofollow ugc noopener">@casey</a></p>`,
		"**@casey** and @casey":              `<p><strong><a href="/users/casey" rel="nofollow ugc noopener">@casey</a></strong> and <a href="/users/casey" rel="nofollow ugc noopener">@casey</a></p>`,
		"```\n@casey\n```":                   "<pre><code>@casey\n</code></pre>",
	} {
		got, err := RenderMentions(src, isPerson)
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(string(got)) != want {
			t.Errorf("%q:\n got %s\nwant %s", src, got, want)
		}
		if err := CheckSafe(string(got)); err != nil {
			t.Errorf("%q: %v", src, err)
		}
	}
}
