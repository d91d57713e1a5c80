using System.Text;
using Akka.Actor;
using Liminal.Actors.Dedup;
using Liminal.Actors.Tests.TestSupport;
using Liminal.Actors.Validation;

namespace Liminal.Actors.Tests.Dedup;

public sealed class DedupKeySpaceSpecs : LiminalTestKit
{
    private static readonly ProcessingReceipt Receipt = new("receipt-1"u8.ToArray());
    private static readonly ProcessingReceipt OtherReceipt = new("receipt-2"u8.ToArray());

    private IActorRef StartDedup(LiminalSettings? settings = null) => LiminalBus.Start(Sys, settings ?? DefaultSettings).Dedup;

    private long DedupRows => JournalRows("dedup-");

    [Fact]
    public void Claim_of_an_absent_key_persists_one_event_and_answers_Claimed()
    {
        var dedup = StartDedup();

        Ask<DedupDecision.Claimed>(dedup, new ClaimOrGet("order-1"));

        Assert.Equal(1, DedupRows);
        Assert.Equal(new KeyStatus("order-1", new DedupDecision.InFlight(Clock.GetUtcNow().ToUnixTimeMilliseconds())),
            Ask<KeyStatus>(dedup, new LookupKey("order-1")));
    }

    [Fact]
    public void Fifty_concurrent_claims_of_one_absent_key_yield_exactly_one_Claimed()
    {
        var dedup = StartDedup();
        var claimers = Enumerable.Range(0, 50).Select(_ => CreateTestProbe()).ToList();

        foreach (var claimer in claimers)
            dedup.Tell(new ClaimOrGet("contended"), claimer.Ref);
        var decisions = claimers.Select(c => c.ExpectMsg<DedupDecision>()).ToList();

        Assert.Single(decisions.OfType<DedupDecision.Claimed>());
        Assert.Equal(49, decisions.OfType<DedupDecision.InFlight>().Count());
        Assert.Equal(1, DedupRows);
    }

    [Fact]
    public void Duplicate_claim_while_in_flight_returns_InFlight_without_persisting()
    {
        var dedup = StartDedup();
        var claimedAt = Clock.GetUtcNow().ToUnixTimeMilliseconds();
        Ask<DedupDecision.Claimed>(dedup, new ClaimOrGet("k"));
        Clock.Advance(TimeSpan.FromMinutes(5));

        Assert.Equal(new DedupDecision.InFlight(claimedAt), Ask<DedupDecision>(dedup, new ClaimOrGet("k")));
        Assert.Equal(1, DedupRows);
        // Nothing was refreshed either: the claim time is still the original one.
        Assert.Equal(new DedupDecision.InFlight(claimedAt), Ask<KeyStatus>(dedup, new LookupKey("k")).Decision);
    }

    [Fact]
    public void Duplicate_of_a_completed_key_returns_the_stored_receipt_and_persists_nothing()
    {
        var dedup = StartDedup();
        Ask<DedupDecision.Claimed>(dedup, new ClaimOrGet("k"));
        Ask<ReceiptStored>(dedup, new CompleteReceipt("k", Receipt));
        Assert.Equal(2, DedupRows);

        // A copy with equal bytes, not the same array: receipts compare by content.
        Assert.Equal(new DedupDecision.Completed(new ProcessingReceipt("receipt-1"u8.ToArray())),
            Ask<DedupDecision>(dedup, new ClaimOrGet("k")));
        Assert.Equal(new ReceiptStored("k"), Ask<ReceiptStored>(dedup, new CompleteReceipt("k", Receipt)));
        Assert.Equal(2, DedupRows);
    }

    [Fact]
    public void A_different_receipt_is_rejected_as_ReceiptMismatch_and_the_original_survives()
    {
        var dedup = StartDedup();
        Ask<DedupDecision.Claimed>(dedup, new ClaimOrGet("k"));
        Ask<ReceiptStored>(dedup, new CompleteReceipt("k", Receipt));

        var rejected = Ask<DedupRejected>(dedup, new CompleteReceipt("k", OtherReceipt));

        Assert.Equal(DedupRejection.ReceiptMismatch, rejected.Reason);
        Assert.Equal(new DedupDecision.Completed(Receipt), Ask<KeyStatus>(dedup, new LookupKey("k")).Decision);
        Assert.Equal(2, DedupRows);
    }

    [Fact]
    public void Completing_a_key_that_was_never_claimed_is_rejected_as_NotClaimed()
    {
        var dedup = StartDedup();

        Assert.Equal(DedupRejection.NotClaimed, Ask<DedupRejected>(dedup, new CompleteReceipt("nobody", Receipt)).Reason);
        Assert.Null(Ask<KeyStatus>(dedup, new LookupKey("nobody")).Decision);
        Assert.Equal(0, DedupRows);
    }

    [Fact]
    public void Release_never_clobbers_a_receipt()
    {
        var dedup = StartDedup();
        Ask<DedupDecision.Claimed>(dedup, new ClaimOrGet("k"));
        Ask<ReceiptStored>(dedup, new CompleteReceipt("k", Receipt));

        Assert.Equal(new ClaimReleased("k", false), Ask<ClaimReleased>(dedup, new ReleaseClaim("k")));
        Assert.Equal(new DedupDecision.Completed(Receipt), Ask<DedupDecision>(dedup, new ClaimOrGet("k")));
        Assert.Equal(2, DedupRows);
    }

    [Fact]
    public void Release_then_claim_returns_Claimed_and_releasing_an_absent_key_is_a_no_op()
    {
        var dedup = StartDedup();
        Assert.Equal(new ClaimReleased("k", false), Ask<ClaimReleased>(dedup, new ReleaseClaim("k")));
        Assert.Equal(0, DedupRows);

        Ask<DedupDecision.Claimed>(dedup, new ClaimOrGet("k"));
        Assert.Equal(new ClaimReleased("k", true), Ask<ClaimReleased>(dedup, new ReleaseClaim("k")));
        Assert.Null(Ask<KeyStatus>(dedup, new LookupKey("k")).Decision);
        Ask<DedupDecision.Claimed>(dedup, new ClaimOrGet("k"));
        Assert.Equal(3, DedupRows);
    }

    [Fact]
    public void An_in_flight_claim_is_kept_until_ttl_plus_one_second_and_expires_just_after()
    {
        var dedup = StartDedup(DefaultSettings with { DedupTtl = TimeSpan.FromMinutes(10) });
        var claimedAt = Clock.GetUtcNow().ToUnixTimeMilliseconds();
        Ask<DedupDecision.Claimed>(dedup, new ClaimOrGet("k"));

        Clock.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1));
        Assert.Equal(new DedupDecision.InFlight(claimedAt), Ask<DedupDecision>(dedup, new ClaimOrGet("k")));

        Clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Null(Ask<KeyStatus>(dedup, new LookupKey("k")).Decision);
        Ask<DedupDecision.Claimed>(dedup, new ClaimOrGet("k"));
    }

    [Fact]
    public void A_completed_key_expires_ttl_plus_one_second_after_completion_not_after_the_claim()
    {
        var dedup = StartDedup(DefaultSettings with { DedupTtl = TimeSpan.FromMinutes(10) });
        Ask<DedupDecision.Claimed>(dedup, new ClaimOrGet("k"));
        Clock.Advance(TimeSpan.FromMinutes(3));
        Ask<ReceiptStored>(dedup, new CompleteReceipt("k", Receipt));

        Clock.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1));
        Assert.Equal(new DedupDecision.Completed(Receipt), Ask<DedupDecision>(dedup, new ClaimOrGet("k")));

        Clock.Advance(TimeSpan.FromMilliseconds(1));
        Ask<DedupDecision.Claimed>(dedup, new ClaimOrGet("k"));
    }

    [Fact]
    public void SweepExpired_removes_expired_entries_across_all_shards_and_reports_them()
    {
        var dedup = StartDedup(DefaultSettings with { DedupTtl = TimeSpan.FromMinutes(10), DedupShards = 4 });
        foreach (var key in new[] { "a", "b", "c" })
            Ask<DedupDecision.Claimed>(dedup, new ClaimOrGet(key));
        Ask<ReceiptStored>(dedup, new CompleteReceipt("c", Receipt));
        Clock.Advance(TimeSpan.FromMinutes(5));
        Ask<DedupDecision.Claimed>(dedup, new ClaimOrGet("d"));
        Clock.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(2));

        Assert.Equal(new SweepReport(Scanned: 4, Expired: 3, Retained: 1), Ask<SweepReport>(dedup, SweepExpired.Instance));
        Assert.Equal(new SweepReport(Scanned: 1, Expired: 0, Retained: 1), Ask<SweepReport>(dedup, SweepExpired.Instance));
        Assert.Equal(new DedupDecision.InFlight(Clock.GetUtcNow().ToUnixTimeMilliseconds() - (long)TimeSpan.FromMinutes(5).TotalMilliseconds - 2000),
            Ask<KeyStatus>(dedup, new LookupKey("d")).Decision);
    }

    [Fact]
    public void The_sweep_runs_by_itself_every_sweep_interval()
    {
        var dedup = StartDedup(DefaultSettings with
        {
            DedupTtl = TimeSpan.FromMinutes(1),
            DedupShards = 2,
            DedupSweepInterval = TimeSpan.FromMilliseconds(100),
        });
        Ask<DedupDecision.Claimed>(dedup, new ClaimOrGet("a"));
        Ask<DedupDecision.Claimed>(dedup, new ClaimOrGet("b"));
        var rowsBefore = DedupRows;

        Clock.Advance(TimeSpan.FromMinutes(2));

        // The periodic sweep persists the expiry: the journal grows without anyone asking.
        AwaitAssert(() => Assert.True(DedupRows > rowsBefore), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(50));
        AwaitAssert(() => Assert.Equal(new SweepReport(0, 0, 0), Ask<SweepReport>(dedup, SweepExpired.Instance)),
            TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(50));
    }

    [Theory]
    [InlineData("")]
    [InlineData(null)]
    public void Empty_keys_are_rejected_as_InvalidKey_and_nothing_is_persisted(string? key)
    {
        var dedup = StartDedup();

        Assert.Equal(DedupRejection.InvalidKey, Ask<DedupRejected>(dedup, new ClaimOrGet(key!)).Reason);
        Assert.Equal(DedupRejection.InvalidKey, Ask<DedupRejected>(dedup, new ClaimOrComplete(key!, Receipt)).Reason);
        Assert.Equal(0, DedupRows);
    }

    [Fact]
    public void Keys_over_1024_utf8_bytes_are_rejected_and_a_key_of_exactly_1024_bytes_is_accepted()
    {
        var dedup = StartDedup();
        var longest = new string('k', 1024);
        var oneByteTooMany = new string('é', 512) + "k"; // 'é' is two UTF-8 bytes: 1025 bytes in 513 chars

        Assert.Equal(DedupRejection.InvalidKey, Ask<DedupRejected>(dedup, new ClaimOrGet(oneByteTooMany)).Reason);
        Assert.Equal(DedupRejection.InvalidKey, Ask<DedupRejected>(dedup, new LookupKey(oneByteTooMany)).Reason);
        Assert.Equal(0, DedupRows);
        Ask<DedupDecision.Claimed>(dedup, new ClaimOrGet(longest));
        Assert.Equal(1025, Encoding.UTF8.GetByteCount(oneByteTooMany));
    }

    [Fact]
    public void A_missing_or_oversized_receipt_is_rejected_and_the_claim_stays_in_flight()
    {
        var dedup = StartDedup();
        Ask<DedupDecision.Claimed>(dedup, new ClaimOrGet("k"));

        Assert.Equal(DedupRejection.InvalidReceipt, Ask<DedupRejected>(dedup, new CompleteReceipt("k", null!)).Reason);
        Assert.Equal(DedupRejection.InvalidReceipt,
            Ask<DedupRejected>(dedup, new CompleteReceipt("k", new ProcessingReceipt(new byte[InputRules.MaxReceiptBytes + 1]))).Reason);
        Assert.IsType<DedupDecision.InFlight>(Ask<KeyStatus>(dedup, new LookupKey("k")).Decision);
        Assert.Equal(1, DedupRows);
    }

    [Fact]
    public void ClaimOrComplete_answers_New_once_then_Duplicate_with_the_original_receipt()
    {
        var dedup = StartDedup();

        Ask<IdempotencyResult.New>(dedup, new ClaimOrComplete("event-1", Receipt));
        Assert.Equal(1, DedupRows);
        Assert.Equal(new IdempotencyResult.Duplicate(Receipt), Ask<IdempotencyResult>(dedup, new ClaimOrComplete("event-1", OtherReceipt)));
        Assert.Equal(1, DedupRows);

        var claimedAt = Clock.GetUtcNow().ToUnixTimeMilliseconds();
        Ask<DedupDecision.Claimed>(dedup, new ClaimOrGet("event-2"));
        Assert.Equal(new IdempotencyResult.InFlight(claimedAt), Ask<IdempotencyResult>(dedup, new ClaimOrComplete("event-2", Receipt)));
    }

    [Fact]
    public void At_capacity_expired_entries_go_first_then_the_oldest_completed_and_in_flight_claims_never()
    {
        var dedup = StartDedup(DefaultSettings with { DedupShards = 1, DedupMaxKeysPerShard = 3, DedupTtl = TimeSpan.FromMinutes(10) });
        Ask<DedupDecision.Claimed>(dedup, new ClaimOrGet("in-flight-old"));
        Clock.Advance(TimeSpan.FromMinutes(1));
        Ask<IdempotencyResult.New>(dedup, new ClaimOrComplete("completed-a", Receipt));
        Clock.Advance(TimeSpan.FromMinutes(1));
        Ask<IdempotencyResult.New>(dedup, new ClaimOrComplete("completed-b", Receipt));

        // Full, nothing expired: the oldest completed entry makes room, the older in-flight claim stays.
        Ask<DedupDecision.Claimed>(dedup, new ClaimOrGet("x"));
        Assert.Null(Ask<KeyStatus>(dedup, new LookupKey("completed-a")).Decision);
        Assert.NotNull(Ask<KeyStatus>(dedup, new LookupKey("completed-b")).Decision);
        Assert.IsType<DedupDecision.InFlight>(Ask<KeyStatus>(dedup, new LookupKey("in-flight-old")).Decision);

        // Full again, and the old claim has expired: it goes before the live completed entry.
        Clock.Advance(TimeSpan.FromMinutes(8) + TimeSpan.FromSeconds(2));
        Ask<DedupDecision.Claimed>(dedup, new ClaimOrGet("y"));
        Assert.NotNull(Ask<KeyStatus>(dedup, new LookupKey("completed-b")).Decision);

        // Then the completed entry; once only in-flight claims are left, new claims are refused.
        Ask<DedupDecision.Claimed>(dedup, new ClaimOrGet("z"));
        Assert.Null(Ask<KeyStatus>(dedup, new LookupKey("completed-b")).Decision);
        Assert.Equal(DedupRejection.CapacityExceeded, Ask<DedupRejected>(dedup, new ClaimOrGet("w")).Reason);
        Assert.Equal(DedupRejection.CapacityExceeded, Ask<DedupRejected>(dedup, new ClaimOrComplete("w", Receipt)).Reason);
        foreach (var key in new[] { "x", "y", "z" })
            Assert.IsType<DedupDecision.InFlight>(Ask<KeyStatus>(dedup, new LookupKey(key)).Decision);
    }

    [Fact]
    public void Keys_of_one_shard_never_collide()
    {
        var dedup = StartDedup(DefaultSettings with { DedupShards = 1 });
        var keys = Enumerable.Range(0, 200).Select(i => $"key-{i}").ToList();

        foreach (var key in keys)
            Ask<DedupDecision.Claimed>(dedup, new ClaimOrGet(key));
        foreach (var key in keys)
            Ask<ReceiptStored>(dedup, new CompleteReceipt(key, new ProcessingReceipt(Encoding.UTF8.GetBytes(key))));

        foreach (var key in keys)
            Assert.Equal(new DedupDecision.Completed(new ProcessingReceipt(Encoding.UTF8.GetBytes(key))),
                Ask<DedupDecision>(dedup, new ClaimOrGet(key)));
    }

    [Fact]
    public void Events_are_stored_under_stable_manifests_not_type_names()
    {
        var dedup = StartDedup();
        Ask<DedupDecision.Claimed>(dedup, new ClaimOrGet("k"));
        Ask<ReceiptStored>(dedup, new CompleteReceipt("k", Receipt));
        Ask<ClaimReleased>(dedup, new ReleaseClaim("k"));
        Ask<IdempotencyResult.New>(dedup, new ClaimOrComplete("j", Receipt));

        Assert.Equal(["dedup.key-claimed.v1", "dedup.key-completed.v1", "dedup.key-claimed-and-completed.v1"],
            JournalManifests("dedup-"));
    }
}
