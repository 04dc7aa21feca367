package charset

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestLookupEncodeDecode(t *testing.T) {
	// The bytes are what Python's codecs make of the text.
	tests := []struct {
		names []string // names of the same charset
		text  string
		hex   string
	}{
		{[]string{"GBK", "gbk", "CP936", "gb2312"}, "中文", "d6d0cec4"},
		{[]string{"GB18030", "gb-18030"}, "中文€", "d6d0cec4a2e3"},
		{[]string{"Big5", "big-5", "BIG5"}, "中文", "a4a4a4e5"},
		{[]string{"Shift_JIS", "Shift-JIS", "sjis", "shift jis", "MS_Kanji"}, "日本語", "93fa967b8cea"},
		{[]string{"EUC-KR", "euckr", "EUC KR"}, "한국어", "c7d1b1b9beee"},
		{[]string{"ISO-8859-1", "Latin-1", "latin1", "l1"}, "café", "636166e9"},
		{[]string{"Windows-1252", "cp1252", "windows1252"}, "€uro", "8075726f"},
		{[]string{"EUC-JP"}, "日本", "c6fccbdc"},
		{[]string{"KOI8-R"}, "привет", "d0d2c9d7c5d4"},
		{[]string{"UTF-16LE"}, "hé", "6800e900"},
		{[]string{"UTF-8", "utf8"}, "hé", "68c3a9"},
	}
	for _, tt := range tests {
		for _, name := range tt.names {
			t.Run(name, func(t *testing.T) {
				e, err := Lookup(name)
				if err != nil {
					t.Fatal(err)
				}
				b, err := Encode(e, tt.text)
				if err != nil {
					t.Fatal(err)
				}
				if got := hex.EncodeToString(b); got != tt.hex {
					t.Errorf("Encode(%q) = %s, want %s", tt.text, got, tt.hex)
				}
				if got := Decode(e, b); got != tt.text {
					t.Errorf("Decode(%x) = %q, want %q", b, got, tt.text)
				}
			})
		}
	}
}

func TestLatin1IsNotWindows1252(t *testing.T) {
	// WHATWG maps "latin1" to windows-1252; IANA, which Lookup asks
	// first, keeps it ISO-8859-1, where 0x80 is a control character.
	e, err := Lookup("latin1")
	if err != nil {
		t.Fatal(err)
	}
	if got := Decode(e, []byte{0x80}); got != "\u0080" {
		t.Fatalf("latin1 decodes 0x80 as %q, want U+0080", got)
	}
}

func TestEveryNameLooksUp(t *testing.T) {
	for _, name := range Names() {
		if _, err := Lookup(name); err != nil {
			t.Errorf("Lookup(%q): %v", name, err)
		}
	}
	n := Names()
	n[0] = "changed"
	if Names()[0] == "changed" {
		t.Fatal("Names returned its own slice")
	}
}

func TestLookupUnknown(t *testing.T) {
	for _, name := range []string{"", " ", "klingon", "utf-9", "---"} {
		e, err := Lookup(name)
		if err == nil {
			t.Errorf("Lookup(%q) = %v, want an error", name, e)
			continue
		}
		if name != "" && strings.TrimSpace(name) != "" && !strings.Contains(err.Error(), "GBK") {
			t.Errorf("Lookup(%q) error %q does not list known names", name, err)
		}
	}
}

func TestEncodeError(t *testing.T) {
	tests := []struct {
		charset, text string
		want          EncodeError
	}{
		{"ISO-8859-1", "price: 5€", EncodeError{Offset: 8, Rune: '€'}},
		{"GBK", "ok 😀", EncodeError{Offset: 3, Rune: '😀'}},
		{"Shift_JIS", "한", EncodeError{Offset: 0, Rune: '한'}},
		{"Windows-1252", "ab\xffcd", EncodeError{Offset: 2, Rune: utf8.RuneError}},
		{"UTF-8", "ab\xffcd", EncodeError{Offset: 2, Rune: utf8.RuneError}},
	}
	for _, tt := range tests {
		t.Run(tt.charset, func(t *testing.T) {
			e, err := Lookup(tt.charset)
			if err != nil {
				t.Fatal(err)
			}
			b, err := Encode(e, tt.text)
			var ee *EncodeError
			if !errors.As(err, &ee) {
				t.Fatalf("Encode(%q) = %x, %v; want an EncodeError", tt.text, b, err)
			}
			if diff := cmp.Diff(tt.want, *ee); diff != "" {
				t.Errorf("EncodeError (-want +got):\n%s", diff)
			}
			if ee.Error() == "" {
				t.Error("empty message")
			}
		})
	}
}

func TestDecodeInvalid(t *testing.T) {
	e, err := Lookup("Shift_JIS")
	if err != nil {
		t.Fatal(err)
	}
	// 0x93 starts a two-byte character that never ends.
	if got := Decode(e, []byte{'a', 0x93}); !utf8.ValidString(got) || !strings.HasPrefix(got, "a") {
		t.Fatalf("Decode = %q, want valid UTF-8 starting with a", got)
	}
}

// FuzzDecode checks that bytes from a peer, in any charset, become valid
// UTF-8 without a panic.
func FuzzDecode(f *testing.F) {
	f.Add("GBK", []byte("\xd6\xd0\xce"))
	f.Add("Shift_JIS", []byte{'a', 0x93})
	f.Add("UTF-16LE", []byte{0x68})
	f.Add("ISO-2022-JP", []byte("\x1b$B"))
	f.Fuzz(func(t *testing.T, name string, b []byte) {
		e, err := Lookup(name)
		if err != nil {
			return
		}
		if s := Decode(e, b); !utf8.ValidString(s) {
			t.Fatalf("Decode(%s, %x) = %q, not UTF-8", name, b, s)
		}
	})
}
