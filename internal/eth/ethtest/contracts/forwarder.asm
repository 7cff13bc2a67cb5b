; Forwarder, hand-written EVM assembly (see ethtest.Assemble).
;
; forward(address to) payable: CALLs to with msg.value and no data; reverts
;   if that call fails. Produces an internal value transfer.
; forwardAndRevert(address to) payable: makes the same call, then reverts
;   the whole transaction, so the internal transfer sits in a reverted frame.
; Any other call data reverts. The constructor only returns the runtime.

#init
    PUSH @runtime.size
    DUP1
    PUSH @runtime.offset
    PUSH 0
    CODECOPY
    PUSH 0
    RETURN

#runtime
    PUSH 0
    CALLDATALOAD
    PUSH 0xe0
    SHR                     ; [selector]
    DUP1
    PUSH sel(forward(address))
    EQ
    PUSH @forward
    JUMPI
    DUP1
    PUSH sel(forwardAndRevert(address))
    EQ
    PUSH @forwardAndRevert
    JUMPI
fail:
    JUMPDEST
    PUSH 0
    DUP1
    REVERT

forward:
    JUMPDEST
    PUSH @done
    PUSH @send
    JUMP
done:
    JUMPDEST
    STOP

forwardAndRevert:
    JUMPDEST
    PUSH @fail
    PUSH @send
    JUMP

; send: [ret] -> CALL(gas, to, callvalue, no data), revert on failure, jump to ret
send:
    JUMPDEST
    PUSH 0                  ; retSize
    DUP1                    ; retOffset
    DUP1                    ; argsSize
    DUP1                    ; argsOffset
    CALLVALUE               ; value
    PUSH 4
    CALLDATALOAD
    PUSH20 0xffffffffffffffffffffffffffffffffffffffff
    AND                     ; to
    GAS
    CALL
    ISZERO
    PUSH @fail
    JUMPI
    JUMP
