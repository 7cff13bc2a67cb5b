package ethtest

import (
	"bufio"
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/crypto"
)

// Assemble turns an assembly listing into contract creation code.
//
// The listing has two sections, started by the lines "#init" and
// "#runtime". The runtime section is the deployed code; the init section
// is the constructor, which may use the symbols @runtime.offset (where the
// runtime code starts inside the creation code, that is the init length)
// and @runtime.size to copy the runtime code out with CODECOPY. The result
// is init followed by runtime; constructor arguments go after it.
//
// Each line holds at most one instruction, a label ("name:") or nothing;
// ";" starts a comment. Mnemonics are go-ethereum's (KECCAK256, PUSH0...).
// "PUSH x" picks the narrowest push for x, and "PUSHn x" forces n bytes.
// x is a decimal or 0x-prefixed hex number, @label (always PUSH2; labels
// are local to their section), sel(signature) (PUSH4 of the function
// selector), topic(signature) (PUSH32 of the event topic) or str32(text)
// (PUSH32 of text, left-aligned and zero-padded as in ABI strings).
func Assemble(src string) ([]byte, error) {
	sections := map[string][]string{}
	cur := ""
	sc := bufio.NewScanner(strings.NewReader(src))
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "#") {
			cur = line[1:]
			if cur != "init" && cur != "runtime" {
				return nil, fmt.Errorf("asm: unknown section %q", line)
			}
			if _, dup := sections[cur]; dup {
				return nil, fmt.Errorf("asm: section %q twice", line)
			}
			sections[cur] = []string{}
			continue
		}
		if line == "" {
			continue
		}
		if cur == "" {
			return nil, fmt.Errorf("asm: %q before any section", line)
		}
		sections[cur] = append(sections[cur], line)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	rt, ok := sections["runtime"]
	if !ok {
		return nil, fmt.Errorf("asm: no #runtime section")
	}
	runtime, err := assembleSection(rt, nil)
	if err != nil {
		return nil, fmt.Errorf("asm: runtime: %w", err)
	}
	initLines, ok := sections["init"]
	if !ok {
		return nil, fmt.Errorf("asm: no #init section")
	}
	// The init length does not depend on symbol values (symbols are
	// always PUSH2), so a first pass with a placeholder gives the offset.
	syms := map[string]uint64{"runtime.offset": 0, "runtime.size": uint64(len(runtime))}
	first, err := assembleSection(initLines, syms)
	if err != nil {
		return nil, fmt.Errorf("asm: init: %w", err)
	}
	syms["runtime.offset"] = uint64(len(first))
	init, err := assembleSection(initLines, syms)
	if err != nil {
		return nil, fmt.Errorf("asm: init: %w", err)
	}
	return append(init, runtime...), nil
}

// MustAssemble is Assemble that panics on error, for package-level code.
func MustAssemble(src string) []byte {
	code, err := Assemble(src)
	if err != nil {
		panic(err)
	}
	return code
}

// instr is one parsed instruction.
type instr struct {
	op    vm.OpCode
	width int    // push width in bytes (0 for non-push and PUSH0)
	label string // push operand to resolve, if any
	imm   []byte // push operand, if known
}

// assembleSection assembles the lines of one section; syms holds symbols
// defined outside it.
func assembleSection(lines []string, syms map[string]uint64) ([]byte, error) {
	labels := map[string]uint64{}
	var prog []instr
	var pc uint64
	for _, line := range lines {
		if name, ok := strings.CutSuffix(line, ":"); ok {
			if _, dup := labels[name]; dup {
				return nil, fmt.Errorf("label %q defined twice", name)
			}
			labels[name] = pc
			// A label is a jump target: the next instruction must be a
			// JUMPDEST, which the listing spells out.
			continue
		}
		in, err := parseInstr(line)
		if err != nil {
			return nil, err
		}
		prog = append(prog, in)
		pc += 1 + uint64(in.width)
	}
	out := make([]byte, 0, pc)
	for _, in := range prog {
		out = append(out, byte(in.op))
		if in.width == 0 {
			continue
		}
		imm := in.imm
		if in.label != "" {
			v, ok := labels[in.label]
			if !ok {
				v, ok = syms[in.label]
			}
			if !ok {
				return nil, fmt.Errorf("undefined label @%s", in.label)
			}
			if v > 0xffff {
				return nil, fmt.Errorf("label @%s = %d does not fit PUSH2", in.label, v)
			}
			imm = []byte{byte(v >> 8), byte(v)}
		}
		out = append(out, imm...)
	}
	for name, at := range labels {
		if at >= uint64(len(out)) || vm.OpCode(out[at]) != vm.JUMPDEST {
			return nil, fmt.Errorf("label %q is not followed by JUMPDEST", name)
		}
	}
	return out, nil
}

// parseInstr parses one instruction line.
func parseInstr(line string) (instr, error) {
	mn, arg, _ := strings.Cut(line, " ")
	mn = strings.ToUpper(mn)
	arg = strings.TrimSpace(arg)
	if mn == "PUSH" || (strings.HasPrefix(mn, "PUSH") && mn != "PUSH0") {
		return parsePush(mn, arg)
	}
	op := vm.StringToOp(mn)
	if op == vm.STOP && mn != "STOP" {
		return instr{}, fmt.Errorf("unknown mnemonic %q", mn)
	}
	if arg != "" {
		return instr{}, fmt.Errorf("%s takes no operand (got %q)", mn, arg)
	}
	return instr{op: op}, nil
}

// parsePush parses PUSH and PUSHn with their operand.
func parsePush(mn, arg string) (instr, error) {
	if arg == "" {
		return instr{}, fmt.Errorf("%s needs an operand", mn)
	}
	var in instr
	switch {
	case strings.HasPrefix(arg, "@"):
		in.label, in.width = arg[1:], 2
	case strings.HasPrefix(arg, "sel(") && strings.HasSuffix(arg, ")"):
		in.imm = crypto.Keccak256([]byte(arg[4 : len(arg)-1]))[:4]
	case strings.HasPrefix(arg, "topic(") && strings.HasSuffix(arg, ")"):
		in.imm = crypto.Keccak256([]byte(arg[6 : len(arg)-1]))
	case strings.HasPrefix(arg, "str32(") && strings.HasSuffix(arg, ")"):
		text := arg[6 : len(arg)-1]
		if len(text) > 32 {
			return instr{}, fmt.Errorf("str32 text %q is longer than 32 bytes", text)
		}
		in.imm = make([]byte, 32)
		copy(in.imm, text)
	default:
		v, ok := new(big.Int).SetString(arg, 0)
		if !ok || v.Sign() < 0 || v.BitLen() > 256 {
			return instr{}, fmt.Errorf("bad push operand %q", arg)
		}
		in.imm = v.Bytes()
	}
	if in.label == "" {
		in.width = len(in.imm)
	}
	if mn != "PUSH" {
		var n int
		if _, err := fmt.Sscanf(mn, "PUSH%d", &n); err != nil || n < 1 || n > 32 || fmt.Sprintf("PUSH%d", n) != mn {
			return instr{}, fmt.Errorf("unknown mnemonic %q", mn)
		}
		if in.width > n {
			return instr{}, fmt.Errorf("%s operand %q needs %d bytes", mn, arg, in.width)
		}
		if in.label != "" && n != 2 {
			return instr{}, fmt.Errorf("labels need PUSH2 or PUSH, not %s", mn)
		}
		if in.label == "" {
			in.imm = append(make([]byte, n-len(in.imm)), in.imm...)
		}
		in.width = n
	}
	if in.width == 0 {
		in.op = vm.PUSH0
		return in, nil
	}
	in.op = vm.PUSH1 + vm.OpCode(in.width-1)
	return in, nil
}
