; Minimal ERC-20 token, hand-written EVM assembly (see ethtest.Assemble).
;
; Storage: slot 1 = totalSupply; balanceOf(a) = slot keccak256(a . 0), the
; Solidity layout of "mapping(address => uint256) balances" at slot 0.
; Constructor argument: uint256 supply, minted to the deployer with
; Transfer(0x0, deployer, supply).
; Functions: transfer(address,uint256) returns (bool), balanceOf(address),
; totalSupply(), decimals() = 18, symbol() = "CTT",
; name() = "Chaintrace Test Token". transfer reverts with empty data when
; the sender's balance is short; every unknown selector reverts too.

#init
    PUSH 32                 ; size
    PUSH 32
    CODESIZE
    SUB                     ; offset = codesize - 32: the supply argument
    PUSH 0                  ; memory destination
    CODECOPY
    PUSH 0
    MLOAD                   ; [supply]
    DUP1
    PUSH 1
    SSTORE                  ; totalSupply = supply
    CALLER
    PUSH 0
    MSTORE                  ; mem[0] = deployer
    PUSH 0
    PUSH 32
    MSTORE                  ; mem[32] = 0 (mapping slot)
    PUSH 64
    PUSH 0
    KECCAK256               ; [supply, slot(deployer)]
    DUP2
    SWAP1
    SSTORE                  ; balances[deployer] = supply; [supply]
    PUSH 0
    MSTORE                  ; mem[0] = supply (log data)
    CALLER                  ; topic2: to
    PUSH 0                  ; topic1: from = 0x0 (mint)
    PUSH topic(Transfer(address,address,uint256))
    PUSH 32
    PUSH 0
    LOG3
    PUSH @runtime.size
    DUP1
    PUSH @runtime.offset
    PUSH 0
    CODECOPY                ; mem[0:size] = runtime code
    PUSH 0
    RETURN

#runtime
    PUSH 0
    CALLDATALOAD
    PUSH 0xe0
    SHR                     ; [selector]
    DUP1
    PUSH sel(transfer(address,uint256))
    EQ
    PUSH @transfer
    JUMPI
    DUP1
    PUSH sel(balanceOf(address))
    EQ
    PUSH @balanceOf
    JUMPI
    DUP1
    PUSH sel(totalSupply())
    EQ
    PUSH @totalSupply
    JUMPI
    DUP1
    PUSH sel(decimals())
    EQ
    PUSH @decimals
    JUMPI
    DUP1
    PUSH sel(symbol())
    EQ
    PUSH @symbol
    JUMPI
    DUP1
    PUSH sel(name())
    EQ
    PUSH @name
    JUMPI
fail:
    JUMPDEST
    PUSH 0
    DUP1
    REVERT

; slot: [ret, addr] -> jumps to ret with [slot(addr)]
slot:
    JUMPDEST
    PUSH 0
    MSTORE
    PUSH 0
    PUSH 32
    MSTORE
    PUSH 64
    PUSH 0
    KECCAK256               ; [ret, slot]
    SWAP1
    JUMP

transfer:
    JUMPDEST
    PUSH @t1
    CALLER
    PUSH @slot
    JUMP
t1:
    JUMPDEST                ; [fslot]
    DUP1
    SLOAD                   ; [fslot, fbal]
    PUSH 36
    CALLDATALOAD            ; [fslot, fbal, amount]
    DUP1
    DUP3
    LT                      ; fbal < amount
    PUSH @fail
    JUMPI
    DUP1
    DUP3
    SUB                     ; [fslot, fbal, amount, fbal-amount]
    DUP4
    SSTORE                  ; balances[caller] -= amount
    SWAP2
    POP
    POP                     ; [amount]
    PUSH @t2
    PUSH 4
    CALLDATALOAD
    PUSH20 0xffffffffffffffffffffffffffffffffffffffff
    AND                     ; [amount, t2, to]
    PUSH @slot
    JUMP
t2:
    JUMPDEST                ; [amount, tslot]
    DUP1
    SLOAD
    DUP3
    ADD                     ; [amount, tslot, tbal+amount]
    SWAP1
    SSTORE                  ; balances[to] += amount; [amount]
    PUSH 0
    MSTORE                  ; mem[0] = amount
    PUSH 4
    CALLDATALOAD
    PUSH20 0xffffffffffffffffffffffffffffffffffffffff
    AND                     ; topic2: to
    CALLER                  ; topic1: from
    PUSH topic(Transfer(address,address,uint256))
    PUSH 32
    PUSH 0
    LOG3
    PUSH 1
    PUSH 0
    MSTORE
    PUSH 32
    PUSH 0
    RETURN                  ; true

balanceOf:
    JUMPDEST
    PUSH @b1
    PUSH 4
    CALLDATALOAD
    PUSH20 0xffffffffffffffffffffffffffffffffffffffff
    AND
    PUSH @slot
    JUMP
b1:
    JUMPDEST
    SLOAD
    PUSH @ret32
    JUMP

totalSupply:
    JUMPDEST
    PUSH 1
    SLOAD
    PUSH @ret32
    JUMP

decimals:
    JUMPDEST
    PUSH 18
; ret32: returns the word on top of the stack
ret32:
    JUMPDEST
    PUSH 0
    MSTORE
    PUSH 32
    PUSH 0
    RETURN

symbol:
    JUMPDEST
    PUSH 3
    PUSH str32(CTT)
    PUSH @retstr
    JUMP

name:
    JUMPDEST
    PUSH 21
    PUSH str32(Chaintrace Test Token)
; retstr: [len, bytes] -> returns the ABI encoding of a string of at most 32 bytes
retstr:
    JUMPDEST
    PUSH 64
    MSTORE                  ; mem[64] = bytes
    PUSH 32
    MSTORE                  ; mem[32] = len
    PUSH 32
    PUSH 0
    MSTORE                  ; mem[0] = offset 32
    PUSH 96
    PUSH 0
    RETURN
