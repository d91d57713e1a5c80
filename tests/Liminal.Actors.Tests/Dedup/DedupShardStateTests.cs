using Liminal.Actors.Dedup;

namespace Liminal.Actors.Tests.Dedup;

/// <summary>The pure decision and fold of a shard, without actors or a journal.</summary>
public sealed class DedupShardStateTests
{
    private static readonly DedupPolicy Policy = new(TimeSpan.FromMinutes(10), MaxKeys: 100);
    private static readonly byte[] Receipt = [7, 7];

    private static DedupShardState Fold(params IDedupEvent[] events) => events.Aggregate(DedupShardState.Empty, DedupShardState.Apply);

    [Fact]
    public void Claiming_an_absent_key_decides_one_KeyClaimed_event_stamped_with_now()
    {
        var outcome = DedupShardState.Decide(DedupShardState.Empty, new ClaimOrGet("k"), Policy, nowMillis: 1234);

        Assert.IsType<DedupDecision.Claimed>(outcome.Reply);
        Assert.Equal([new KeyClaimed("k", 1234)], outcome.Events);
    }

    [Fact]
    public void Decisions_that_change_nothing_produce_no_events()
    {
        var state = Fold(new KeyClaimed("in-flight", 0), new KeyClaimedAndCompleted("done", Receipt, 0));

        Assert.Empty(DedupShardState.Decide(state, new ClaimOrGet("in-flight"), Policy, 1).Events);
        Assert.Empty(DedupShardState.Decide(state, new ClaimOrGet("done"), Policy, 1).Events);
        Assert.Empty(DedupShardState.Decide(state, new LookupKey("absent"), Policy, 1).Events);
        Assert.Empty(DedupShardState.Decide(state, new ReleaseClaim("done"), Policy, 1).Events);
        Assert.Empty(DedupShardState.Decide(state, new CompleteReceipt("done", new ProcessingReceipt([7, 7])), Policy, 1).Events);
        Assert.Empty(DedupShardState.Decide(state, SweepExpired.Instance, Policy, 1).Events);
    }

    [Fact]
    public void Applying_any_event_twice_changes_nothing()
    {
        IDedupEvent[] history =
        [
            new KeyClaimed("a", 1), new KeyCompleted("a", Receipt, 2), new KeyClaimed("b", 3), new KeyReleased("b"),
            new KeyClaimedAndCompleted("c", Receipt, 4), new KeysExpired(["c"], 5), new KeyClaimed("d", 6), new KeysEvicted(["d"]),
        ];

        var once = Fold(history);
        var twice = Fold(history.SelectMany(e => new[] { e, e }).ToArray());

        Assert.Equal(once.Entries.OrderBy(e => e.Key), twice.Entries.OrderBy(e => e.Key));
        Assert.Equal(once.ToSnapshot().Entries.Select(e => e.Key).Order(), twice.ToSnapshot().Entries.Select(e => e.Key).Order());
        Assert.Equal(["a"], once.Entries.Keys);
    }

    [Fact]
    public void A_late_release_never_removes_a_completed_entry()
    {
        var state = Fold(new KeyClaimed("k", 1), new KeyCompleted("k", Receipt, 2), new KeyReleased("k"));

        Assert.Equal(new DedupDecision.Completed(new ProcessingReceipt(Receipt)), state.Live("k", Policy, 3)?.ToDecision());
    }

    [Fact]
    public void A_snapshot_restores_the_same_decisions_and_eviction_order()
    {
        var state = Fold(new KeyClaimedAndCompleted("older", Receipt, 1), new KeyClaimedAndCompleted("newer", Receipt, 2), new KeyClaimed("open", 3));
        var restored = DedupShardState.FromSnapshot(state.ToSnapshot());
        var full = new DedupPolicy(Policy.Ttl, MaxKeys: 3);

        var outcome = DedupShardState.Decide(restored, new ClaimOrGet("fresh"), full, 4);

        Assert.Equal(2, outcome.Events.Count);
        Assert.Equal(["older"], Assert.IsType<KeysEvicted>(outcome.Events[0]).Keys);
        Assert.Equal(new KeyClaimed("fresh", 4), outcome.Events[1]);
        foreach (var key in new[] { "older", "newer", "open" })
            Assert.Equal(state.Live(key, Policy, 4)?.ToDecision(), restored.Live(key, Policy, 4)?.ToDecision());
    }

    [Fact]
    public void The_sweep_expires_exactly_the_entries_past_ttl_plus_grace()
    {
        var lifetime = (long)(Policy.Ttl + DedupPolicy.Grace).TotalMilliseconds;
        var state = Fold(new KeyClaimed("at-0", 0), new KeyClaimedAndCompleted("at-10", Receipt, 10), new KeyClaimed("at-20", 20));

        var outcome = DedupShardState.Decide(state, SweepExpired.Instance, Policy, nowMillis: 10 + lifetime + 1);

        Assert.Equal(new SweepReport(3, 2, 1), outcome.Reply);
        var expired = Assert.IsType<KeysExpired>(Assert.Single(outcome.Events));
        Assert.Equal(["at-0", "at-10"], expired.Keys);
    }

    [Fact]
    public void A_claim_left_by_a_dead_owner_is_taken_over_once_and_a_live_claim_never_is()
    {
        var state = Fold(new KeyClaimed("k", 1) { Owner = "dead-bus" });

        var takeOver = DedupShardState.Decide(state, new TakeOverClaim("k", "dead-bus", "new-bus"), Policy, 2);
        Assert.IsType<DedupDecision.Claimed>(takeOver.Reply);
        DedupShardState.Apply(state, Assert.Single(takeOver.Events));

        var second = DedupShardState.Decide(state, new TakeOverClaim("k", "dead-bus", "another-bus"), Policy, 3);
        Assert.Equal(new DedupDecision.InFlight(2) { Owner = "new-bus" }, second.Reply);
        Assert.Empty(second.Events);
    }
}
