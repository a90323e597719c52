/*
 * The change-log / checkpoint / bundle protocol of Satchel sync (the protocol, as in
 * Sources/SatchelStore/Refs/ChangeLog.swift, Sources/SatchelSync/Engine/BundleCreation.swift
 * (outgoingPlan, createBundle) and Sources/SatchelSync/Engine/BundleApply.swift (prerequisite
 * check, head merge, checkpoint moves)). Run with Tools/Model/check.sh.
 *
 * Replica A writes changes to two refs; replica B receives them. (Sync is symmetric; one
 * direction of changes plus the acknowledgements coming back is the whole protocol.)
 *   - A's change log: every change gets the next sequence number; compaction keeps only the
 *     latest record of each ref (and its number). A crash may leave a record whose ref change
 *     never happened. With EPOCH defined, A's log may be lost once: a new epoch, numbering
 *     restarts at 1.
 *   - Checkpoints: A keeps delivered (what B acknowledged), B keeps received (A's position).
 *   - A's bundle: since = delivered (incremental) or a full bundle (no valid checkpoint);
 *     upTo = A's last sequence; heads = the current value of every ref with a record after
 *     since. B's bundle back carries only ack = B's received.
 *   - Bundles in flight are lost, duplicated, reordered (a bag, any slot delivered any number
 *     of times). An apply commits heads and checkpoint in one durable transaction: a crash
 *     before it changes nothing (a lost bundle), after it loses only what follows.
 * Properties (assertions):
 *   P1 no change skipped: whenever B's received says (e, s), B holds every change A made in
 *      epoch e up to s; and after A stops writing, a few clean exchanges leave B with A's refs.
 *   P2 checkpoints never move backwards within an epoch: received and delivered only grow.
 *      An ack of another epoch resets A's delivered (an explicit full reconcile), which is
 *      what lets P1 hold across a lost log even when a stale old-epoch bundle arrives late.
 */

#define REFS 2
#define MAXC 2        /* changes A makes */
#define MAXB 2        /* bundles A creates in the lossy phase */
#define MAXACK 2      /* bundles B creates in the lossy phase */
#define SLOTS 2       /* bundles in flight per direction */
#define MAXS 3        /* sequence numbers per epoch (changes + crash records) */

/* A */
byte aval[REFS];               /* A's current value of each ref: the global number of its last change */
byte aepoch = 1;
byte aseq = 0;                 /* last sequence in A's log */
byte logref[MAXS+1];           /* log record s: which ref (0 = no record: compacted or none) */
byte delEpoch = 0, delSeq = 0; /* A's checkpoint for B: delivered (epoch 0 = none) */
byte changes = 0;              /* changes made so far (values 1..MAXC) */
byte bundlesA = 0, bundlesB = 0;
bool epochLost = false;

/* B */
byte bval[REFS];               /* B's value of A's refs (merge = max, a join) */
byte recEpoch = 0, recSeq = 0; /* B's checkpoint for A: received */

/* ghost: change made in epoch e at sequence s (its value; 0 = none, e.g. a crash record) */
byte ghost[2*(MAXS+1)];
byte ghostRef[2*(MAXS+1)];

typedef AtoB { bool used; bool isFull; byte epoch; byte since; byte upTo; byte val[REFS] };
typedef BtoA { bool used; byte ackEpoch; byte ack };
AtoB ab[SLOTS];
BtoA ba[SLOTS];

byte s, t, r, oldE, oldS;
bool lossy = true;

inline checkReceived() {
  /* P1 (safety part): B's received claim is backed by what B holds */
  for (s : 1 .. MAXS) {
    if
    :: (recEpoch > 0 && s <= recSeq && ghost[(recEpoch-1)*(MAXS+1)+s] > 0) ->
         assert(bval[ghostRef[(recEpoch-1)*(MAXS+1)+s]] >= ghost[(recEpoch-1)*(MAXS+1)+s])
    :: else -> skip
    fi
  }
}

inline change() {
  select(r : 0 .. REFS-1);
  aseq++;
  logref[aseq] = r + 1;         /* record first (durable), then the ref */
  if
  :: changes++; aval[r] = changes;
     ghost[(aepoch-1)*(MAXS+1)+aseq] = changes; ghostRef[(aepoch-1)*(MAXS+1)+aseq] = r
  :: (aseq < MAXS && changes < MAXC) -> skip   /* crash after the record, before the ref: no change */
  fi;
  r = 0
}

inline compact() {
  /* keep only the latest record of each ref, with its sequence number */
  for (s : 1 .. MAXS) {
    for (t : s+1 .. MAXS) {
      if
      :: (logref[s] != 0 && logref[t] == logref[s]) -> logref[s] = 0
      :: else -> skip
      fi
    }
  };
  s = 0; t = 0
}

inline loseLog() {
  /* the log is lost or replaced: new epoch, numbering restarts */
  for (s : 1 .. MAXS) { logref[s] = 0 }
  aepoch = 2; aseq = 0; epochLost = true; s = 0
}

inline createAtoB(slot) {
  ab[slot].used = true;
  ab[slot].epoch = aepoch;
  ab[slot].upTo = aseq;
  if
  :: (delEpoch == aepoch && delSeq <= aseq) -> ab[slot].isFull = false; ab[slot].since = delSeq
  :: else -> ab[slot].isFull = true; ab[slot].since = 0
  fi;
  for (r : 0 .. REFS-1) { ab[slot].val[r] = 0 }
  if
  :: ab[slot].isFull -> for (r : 0 .. REFS-1) { ab[slot].val[r] = aval[r] }
  :: else ->
     for (s : 1 .. MAXS) {
       if
       :: (s > ab[slot].since && s <= aseq && logref[s] != 0) -> ab[slot].val[logref[s]-1] = aval[logref[s]-1]
       :: else -> skip
       fi
     }
  fi;
  s = 0; r = 0
}

/* B applies a bundle from A; returns ok=false when it is refused (missing prerequisite) */
inline applyAtB(slot, ok) {
  if
  :: (!ab[slot].isFull && !(recEpoch == ab[slot].epoch && recSeq >= ab[slot].since)) -> ok = false
  :: else ->
     if
     :: lossy -> ok = false   /* crash before the durable commit: nothing changed */
     :: true ->
        ok = true;
        d_step {
          for (r : 0 .. REFS-1) { if :: ab[slot].val[r] > bval[r] -> bval[r] = ab[slot].val[r] :: else -> skip fi };
          oldE = recEpoch; oldS = recSeq;
          if
          :: (recEpoch != ab[slot].epoch || recSeq < ab[slot].upTo) -> recEpoch = ab[slot].epoch; recSeq = ab[slot].upTo
          :: else -> skip
          fi
        };
        /* P2: within an epoch received never moves back. (Across a lost log, a stale full
           bundle of the old epoch can move it to that epoch; epochs are random, so B cannot
           order them. A then sees an ack of another epoch and resets: P1 still holds.) */
#ifndef NOP2
        assert(recEpoch != oldE || recSeq >= oldS)
#else
        skip
#endif
     fi
  fi;
  checkReceived();
  skip;
  d_step { s = 0; t = 0; r = 0; oldE = 0; oldS = 0 }
}

/* an empty slot holds nothing (so it adds no states) */
inline clearAB(slot) {
  ab[slot].used = false; ab[slot].isFull = false; ab[slot].epoch = 0; ab[slot].since = 0; ab[slot].upTo = 0;
  ab[slot].val[0] = 0; ab[slot].val[1] = 0
}

inline createBtoA(slot) {
  ba[slot].used = true; ba[slot].ackEpoch = recEpoch; ba[slot].ack = recSeq
}

inline applyAtA(slot) {
  oldE = delEpoch; oldS = delSeq;
  if
  :: (ba[slot].ackEpoch == aepoch && (delEpoch != aepoch || delSeq < ba[slot].ack)) ->
       delEpoch = ba[slot].ackEpoch; delSeq = ba[slot].ack
  :: (ba[slot].ackEpoch != 0 && ba[slot].ackEpoch != aepoch) ->
       /* B acknowledges another epoch of A's log: an explicit full reconcile next time */
       delEpoch = 0; delSeq = 0
  :: else -> skip
  fi;
  /* P2: within an epoch delivered never moves back; the only other move is the reset */
  assert(delEpoch == 0 || delEpoch > oldE || (delEpoch == oldE && delSeq >= oldS));
  d_step { oldE = 0; oldS = 0 }
}

active proctype exchange() {
  byte i; bool ok;
  /* lossy phase */
  do
  :: (changes < MAXC && aseq < MAXS) -> atomic { change() }
  :: (aseq > 1) -> atomic { compact() }
#ifdef EPOCH
  :: (!epochLost) -> atomic { loseLog() }
#endif
  :: (bundlesA < MAXB) -> atomic { select(i : 0 .. SLOTS-1); createAtoB(i); bundlesA++; i = 0 }
  :: (bundlesB < MAXACK) -> atomic { select(i : 0 .. SLOTS-1); createBtoA(i); bundlesB++; i = 0 }
  :: (ab[0].used) -> atomic { applyAtB(0, ok); ok = false }   /* delivered (maybe again: the slot stays) */
  :: (ab[1].used) -> atomic { applyAtB(1, ok); ok = false }
  :: (ab[0].used) -> d_step { clearAB(0) }   /* lost (or a delivery's last copy) */
  :: (ab[1].used) -> d_step { clearAB(1) }
  :: (ba[0].used) -> atomic { applyAtA(0) }
  :: (ba[1].used) -> atomic { applyAtA(1) }
  :: (ba[0].used) -> d_step { ba[0].used = false; ba[0].ackEpoch = 0; ba[0].ack = 0 }
  :: (ba[1].used) -> d_step { ba[1].used = false; ba[1].ackEpoch = 0; ba[1].ack = 0 }
  :: break
  od;
  /* P1 (progress part): A stops writing; the two keep exchanging cleanly (each round: A's
     bundle applied at B, B's bundle applied at A). Two rounds suffice: after them B holds
     every value A has. */
  lossy = false;
  clearAB(0); clearAB(1);
  for (i : 1 .. 2) {
    createAtoB(0); applyAtB(0, ok);
    if
    :: !ok ->
       /* refused for a missing prerequisite: sync (LocalSync, HTTP) sends a full bundle */
       delEpoch = 0; delSeq = 0; createAtoB(0); applyAtB(0, ok)
    :: else -> skip
    fi;
    assert(ok);   /* a legitimate exchange always goes through */
    createBtoA(0); applyAtA(0)
  }
  for (i : 0 .. REFS-1) { assert(bval[i] == aval[i]) }
}
