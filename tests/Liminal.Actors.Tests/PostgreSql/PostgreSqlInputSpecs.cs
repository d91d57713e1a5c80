using Liminal.Actors.Conversations;
using Liminal.Actors.Dedup;
using Liminal.Actors.Offsets;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.PostgreSql;

/// <summary>
/// Issue 13, item 7, on PostgreSQL, whose <c>text</c> cannot hold NUL: a NUL in an id that becomes part of a
/// persistence id once left 40 of 40 requests unanswered and recovery retrying forever.
/// </summary>
public sealed class PostgreSqlInputSpecs : PostgreSqlTestKit
{
    [SkippableFact]
    public void A_NUL_in_a_conversation_id_or_a_consumer_name_is_rejected_and_every_request_after_it_is_answered()
    {
        RequireServer();
        var bus = LiminalBus.Start(Sys, DefaultSettings with { DedupNamespace = Unique, DedupShards = 2 });

        for (var i = 0; i < 40; i++)
        {
            Assert.Equal(ConversationRejections.InvalidConversationId,
                Ask<ConversationRejected>(bus.Conversations, new ReceiveMessage($"{Unique}\0{i}", "m")).Reason);
            Assert.Contains("control character", Ask<OffsetRequestRejected>(bus.Offsets, new CommitOffset($"{Unique}\0{i}", "s", i)).Reason);
            Assert.Contains("control character", Ask<OffsetRequestRejected>(bus.Offsets, new RecordProcessed($"{Unique}\0{i}", "e")).Reason);
        }

        Ask<RedeliveryDecision.Start>(bus.Conversations, new ReceiveMessage($"{Unique}-c", "m"));
        Ask<OffsetCommitted>(bus.Offsets, new CommitOffset($"{Unique}-consumer", "s", 1));
    }

    [SkippableFact]
    public void A_NUL_inside_a_key_or_a_stored_id_is_kept_exactly_across_a_restart()
    {
        RequireServer();
        // These travel inside the event (JSON, in a bytea column), not in the persistence id: PostgreSQL stores them.
        var settings = DefaultSettings with { DedupNamespace = Unique, DedupShards = 2 };
        var bus = LiminalBus.Start(Sys, settings);
        Ask<IdempotencyResult.New>(bus.Dedup, new ClaimOrComplete("k\0ey", new ProcessingReceipt([1])));
        Ask<RedeliveryDecision.Start>(bus.Conversations, new ReceiveMessage($"{Unique}-c", "m\0"));
        Ask<ProcessedRecorded>(bus.Offsets, new RecordProcessed($"{Unique}-p", "e\0"));
        Shutdown(Sys);

        var restarted = StartSystemOnSameDatabase();
        try
        {
            var recovered = LiminalBus.Start(restarted, settings);
            var probe = CreateTestProbe(restarted);
            Assert.Equal(new IdempotencyResult.Duplicate(new ProcessingReceipt([1])),
                Ask<IdempotencyResult>(recovered.Dedup, new ClaimOrComplete("k\0ey", new ProcessingReceipt([2])), probe));
            // Known after the restart: still leased by the Start before it (a new message would be Start).
            Assert.IsType<RedeliveryDecision.InProgress>(Ask<RedeliveryDecision>(recovered.Conversations, new ReceiveMessage($"{Unique}-c", "m\0"), probe));
            Assert.True(Ask<ProcessedStatus>(recovered.Offsets, new WasProcessed($"{Unique}-p", "e\0"), probe).Processed);
        }
        finally
        {
            Shutdown(restarted);
        }
    }
}
