; Piggy bank, hand-written EVM assembly (see ethtest.Assemble).
;
; The constructor is payable (keeps any value sent with the creation).
; Empty call data: accepts value and stops.
; destroy(address beneficiary): SELFDESTRUCT(beneficiary), paying out the
;   whole balance. On the Cancun+ chains the harness runs (EIP-6780), a
;   contract not created in the same transaction only sends its balance and
;   keeps its code; the payout is a value transfer either way.
; Any other call data reverts.

#init
    PUSH @runtime.size
    DUP1
    PUSH @runtime.offset
    PUSH 0
    CODECOPY
    PUSH 0
    RETURN

#runtime
    CALLDATASIZE
    ISZERO
    PUSH @receive
    JUMPI
    PUSH 0
    CALLDATALOAD
    PUSH 0xe0
    SHR
    PUSH sel(destroy(address))
    EQ
    PUSH @destroy
    JUMPI
    PUSH 0
    DUP1
    REVERT

receive:
    JUMPDEST
    STOP

destroy:
    JUMPDEST
    PUSH 4
    CALLDATALOAD
    PUSH20 0xffffffffffffffffffffffffffffffffffffffff
    AND
    SELFDESTRUCT
