package charset

import (
	"bytes"
	"flag"
	"io"
	"strings"
	"testing"
)

func TestFlag(t *testing.T) {
	var f Flag
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Var(&f, "charset", Usage("the reply"))
	if f.Encoding() != nil {
		t.Fatal("the zero Flag is not UTF-8")
	}
	if err := fs.Parse([]string{"-charset", "gbk"}); err != nil {
		t.Fatal(err)
	}
	b, err := f.Encode("你好")
	if err != nil || !bytes.Equal(b, []byte{0xc4, 0xe3, 0xba, 0xc3}) {
		t.Fatalf("Encode = % x, %v", b, err)
	}
	if got := f.Decode(b); got != "你好" {
		t.Errorf("Decode = %q", got)
	}
	if _, err := f.Encode("🙂"); err == nil || !strings.Contains(err.Error(), "-charset gbk") {
		t.Errorf("Encode of a character GBK lacks: %v", err)
	}
	var out bytes.Buffer
	io.WriteString(f.Writer(&out), "你🙂")
	if !bytes.Equal(out.Bytes(), []byte{0xc4, 0xe3, '?'}) {
		t.Errorf("Writer wrote % x", out.Bytes())
	}
	in, _ := io.ReadAll(f.Reader(bytes.NewReader(b)))
	if string(in) != "你好" {
		t.Errorf("Reader read %q", in)
	}
	if err := fs.Parse([]string{"-charset", "no-such-charset"}); err == nil {
		t.Error("an unknown charset was taken")
	}
}
