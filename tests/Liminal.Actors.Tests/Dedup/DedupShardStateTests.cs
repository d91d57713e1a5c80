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

    [Fact]
    public void Entries_written_while_the_clock_steps_back_still_expire_oldest_first()
    {
        var lifetime = (long)(Policy.Ttl + DedupPolicy.Grace).TotalMilliseconds;
        var state = Fold(new KeyClaimed("b", 50), new KeyClaimed("late", 90), new KeyClaimed("a", 50), new KeyClaimed("early", 10));

        var outcome = DedupShardState.Decide(state, SweepExpired.Instance, Policy, nowMillis: 50 + lifetime + 1);

        Assert.Equal(["early", "a", "b"], Assert.IsType<KeysExpired>(Assert.Single(outcome.Events)).Keys);
    }

    [Fact]
    public void After_heavy_churn_eviction_takes_the_oldest_completed_entry_and_never_a_replaced_one()
    {
        // Thousands of keys claimed, completed, released and expired: what the index has dropped must not resurface.
        var state = DedupShardState.Empty;
        for (var i = 0; i < 5_000; i++)
        {
            DedupShardState.Apply(state, new KeyClaimed($"done-{i}", i));
            DedupShardState.Apply(state, new KeyCompleted($"done-{i}", Receipt, 10_000 + i));
            DedupShardState.Apply(state, new KeyClaimed($"dropped-{i}", i));
            DedupShardState.Apply(state, i % 2 == 0 ? new KeyReleased($"dropped-{i}") : new KeysExpired([$"dropped-{i}"], 20_000));
        }
        DedupShardState.Apply(state, new KeysExpired([.. Enumerable.Range(0, 4_990).Select(i => $"done-{i}")], 20_000));
        DedupShardState.Apply(state, new KeyClaimed("open", 0));
        var full = new DedupPolicy(Policy.Ttl, MaxKeys: 11);

        var outcome = DedupShardState.Decide(state, new ClaimOrGet("fresh"), full, 30_000);

        Assert.Equal(11, state.Count);
        Assert.Equal(["done-4990"], Assert.IsType<KeysEvicted>(outcome.Events[0]).Keys);
        var sweep = DedupShardState.Decide(state, SweepExpired.Instance, Policy, nowMillis: 14_995 + (long)(Policy.Ttl + DedupPolicy.Grace).TotalMilliseconds);
        Assert.Equal(["open", "done-4990", "done-4991", "done-4992", "done-4993", "done-4994"],
            Assert.IsType<KeysExpired>(Assert.Single(sweep.Events)).Keys);
    }
}
