using Liminal.Actors.Persistence;

namespace Liminal.Actors.Channels;

/// <summary>A message stored in a durable channel partition; its sequence number is its position.</summary>
public sealed record MessageAppended(byte[] Payload, string PublisherId, string? CorrelationId, string? CausationId) : ILiminalEvent
{
    public static MessageAppended From(MessageEnvelope envelope) =>
        new(envelope.Payload, envelope.PublisherId, envelope.Causal?.CorrelationId, envelope.Causal?.CausationId);

    public MessageEnvelope ToEnvelope() =>
        new(Payload, PublisherId, CorrelationId is null && CausationId is null ? null : new CausalContext(CorrelationId, CausationId));
}
