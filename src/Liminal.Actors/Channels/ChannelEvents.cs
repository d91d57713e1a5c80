using Liminal.Actors.Persistence;

namespace Liminal.Actors.Channels;

/// <summary>A message stored in a durable channel partition; its sequence number is its position.</summary>
public sealed record MessageAppended(byte[] Payload, string PublisherId, string? CorrelationId, string? CausationId) : ILiminalEvent
{
    /// <summary>The publish's idempotency key, so a key claimed by a process that died can be matched to its message.</summary>
    public string? IdempotencyKey { get; init; }

    public static MessageAppended From(MessageEnvelope envelope, string? idempotencyKey) =>
        new(envelope.Payload, envelope.PublisherId, envelope.Causal?.CorrelationId, envelope.Causal?.CausationId)
        {
            IdempotencyKey = idempotencyKey,
        };

    public MessageEnvelope ToEnvelope() =>
        new(Payload, PublisherId, CorrelationId is null && CausationId is null ? null : new CausalContext(CorrelationId, CausationId));
}
