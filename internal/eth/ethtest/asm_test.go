package ethtest

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
)

func TestAssemble(t *testing.T) {
	src := `
#init
    PUSH @runtime.size   ; 61 0004
    DUP1
    PUSH @runtime.offset ; 61 000b
    PUSH 0               ; 5f
    CODECOPY
    PUSH 0
    RETURN
#runtime
    PUSH @end            ; 61 0003
end:
    JUMPDEST
`
	got, err := Assemble(src)
	if err != nil {
		t.Fatal(err)
	}
	// init: 61 0004 80 61 000b 5f 39 5f f3 (11 bytes); runtime: 61 0003 5b.
	want := "610004" + "80" + "61000b" + "5f" + "39" + "5f" + "f3" + "610003" + "5b"
	if h := hex.EncodeToString(got); h != want {
		t.Fatalf("got %s, want %s", h, want)
	}
}

func TestAssemblePushOperands(t *testing.T) {
	src := "#init\nSTOP\n#runtime\n" + strings.Join([]string{
		"PUSH 0",
		"PUSH 255",
		"PUSH 0x0100",
		"PUSH4 7",
		"PUSH sel(transfer(address,uint256))",
		"PUSH str32(ab)",
	}, "\n")
	got, err := Assemble(src)
	if err != nil {
		t.Fatal(err)
	}
	var want []byte
	want = append(want, 0x00)                         // init STOP
	want = append(want, 0x5f)                         // PUSH0
	want = append(want, 0x60, 0xff)                   // PUSH1
	want = append(want, 0x61, 0x01, 0x00)             // PUSH2
	want = append(want, 0x63, 0, 0, 0, 7)             // PUSH4 forced
	want = append(want, 0x63, 0xa9, 0x05, 0x9c, 0xbb) // transfer selector
	want = append(want, 0x7f, 'a', 'b')
	want = append(want, make([]byte, 30)...)
	if !bytes.Equal(got, want) {
		t.Fatalf("got  %x\nwant %x", got, want)
	}
}

func TestAssembleErrors(t *testing.T) {
	for name, src := range map[string]string{
		"no runtime":        "#init\nSTOP",
		"no init":           "#runtime\nSTOP",
		"unknown section":   "#data\nSTOP",
		"before section":    "STOP\n#init\n#runtime",
		"unknown mnemonic":  "#init\nSTOP\n#runtime\nFROB",
		"operand on op":     "#init\nSTOP\n#runtime\nADD 1",
		"missing operand":   "#init\nSTOP\n#runtime\nPUSH",
		"bad number":        "#init\nSTOP\n#runtime\nPUSH 12x",
		"too wide":          "#init\nSTOP\n#runtime\nPUSH1 0x1234",
		"undefined label":   "#init\nSTOP\n#runtime\nPUSH @nowhere",
		"label not jumpdst": "#init\nSTOP\n#runtime\nhere:\nSTOP",
		"label twice":       "#init\nSTOP\n#runtime\na:\nJUMPDEST\na:\nJUMPDEST",
		"long str32":        "#init\nSTOP\n#runtime\nPUSH str32(" + strings.Repeat("x", 33) + ")",
		"label wrong width": "#init\nSTOP\n#runtime\nPUSH3 @a\na:\nJUMPDEST",
		"bad push width":    "#init\nSTOP\n#runtime\nPUSH33 1",
	} {
		if _, err := Assemble(src); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestContractsAssemble(t *testing.T) {
	for name, code := range map[string][]byte{"erc20": ERC20Code, "forwarder": ForwarderCode, "piggybank": PiggyBankCode} {
		if len(code) == 0 || code[len(code)-1] == 0xfe {
			t.Errorf("%s: bad code %x", name, code)
		}
	}
	for _, sig := range []string{"transfer(address,uint256)", "balanceOf(address)", "totalSupply()", "decimals()", "symbol()", "name()"} {
		if !bytes.Contains(ERC20Code, Selector(sig)) {
			t.Errorf("erc20 lacks %s", sig)
		}
	}
	if !bytes.Contains(ERC20Code, TransferTopic.Bytes()) {
		t.Error("erc20 lacks the Transfer topic")
	}
}
