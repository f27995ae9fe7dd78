using System.Buffers.Binary;
using System.Text;

namespace MLOpsDemo.Samples;

/// <summary>
/// Writes a binary logistic regression as an ONNX model: probability = Sigmoid(MatMul(input, W) + B), with input
/// "input" float[N, features] and output "probability" float[N, 1]. No ONNX writer package is needed: the few
/// protobuf messages are encoded by hand, with the field numbers of onnx.proto noted at each call.
/// </summary>
public static class OnnxLogisticRegression
{
    /// <summary>Returns the bytes of the ONNX model (IR version 7, opset 13).</summary>
    public static byte[] Write(IReadOnlyList<float> weights, float bias)
    {
        var features = weights.Count;
        var graph = new ProtoWriter();
        graph.Message(1, Node("MatMul", ["input", "W"], ["logit_raw"], "matmul"));           // GraphProto.node = 1
        graph.Message(1, Node("Add", ["logit_raw", "B"], ["logit"], "add"));
        graph.Message(1, Node("Sigmoid", ["logit"], ["probability"], "sigmoid"));
        graph.String(2, "logistic_regression");                                            // GraphProto.name = 2
        graph.Message(5, FloatTensor("W", [features, 1], weights));                       // GraphProto.initializer = 5
        graph.Message(5, FloatTensor("B", [1], [bias]));
        graph.Message(11, ValueInfo("input", [null, features]));                           // GraphProto.input = 11
        graph.Message(12, ValueInfo("probability", [null, 1]));                            // GraphProto.output = 12

        var opset = new ProtoWriter();
        opset.String(1, "");                                                               // OperatorSetIdProto.domain = 1
        opset.Varint(2, 13);                                                               // OperatorSetIdProto.version = 2

        var model = new ProtoWriter();
        model.Varint(1, 7);                                                                // ModelProto.ir_version = 1
        model.String(2, "MLOpsDemo.Mlflow");                                               // ModelProto.producer_name = 2
        model.Message(7, graph);                                                           // ModelProto.graph = 7
        model.Message(8, opset);                                                           // ModelProto.opset_import = 8
        return model.ToArray();
    }

    private static ProtoWriter Node(string opType, string[] inputs, string[] outputs, string name)
    {
        var node = new ProtoWriter();
        foreach (var input in inputs)
        {
            node.String(1, input);                                                         // NodeProto.input = 1
        }

        foreach (var output in outputs)
        {
            node.String(2, output);                                                        // NodeProto.output = 2
        }

        node.String(3, name);                                                              // NodeProto.name = 3
        node.String(4, opType);                                                            // NodeProto.op_type = 4
        return node;
    }

    private static ProtoWriter FloatTensor(string name, long[] dims, IReadOnlyList<float> values)
    {
        var tensor = new ProtoWriter();
        foreach (var dim in dims)
        {
            tensor.Varint(1, (ulong)dim);                                                  // TensorProto.dims = 1
        }

        tensor.Varint(2, 1);                                                               // TensorProto.data_type = 2 (FLOAT)
        var raw = new byte[values.Count * 4];
        for (var i = 0; i < values.Count; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(i * 4), values[i]);
        }

        tensor.String(8, name);                                                            // TensorProto.name = 8
        tensor.Bytes(9, raw);                                                              // TensorProto.raw_data = 9
        return tensor;
    }

    private static ProtoWriter ValueInfo(string name, long?[] shape)
    {
        var dims = new ProtoWriter();
        foreach (var dim in shape)
        {
            var d = new ProtoWriter();
            if (dim is { } value)
            {
                d.Varint(1, (ulong)value);                                                 // Dimension.dim_value = 1
            }
            else
            {
                d.String(2, "N");                                                          // Dimension.dim_param = 2
            }

            dims.Message(1, d);                                                            // TensorShapeProto.dim = 1
        }

        var tensorType = new ProtoWriter();
        tensorType.Varint(1, 1);                                                           // TypeProto.Tensor.elem_type = 1 (FLOAT)
        tensorType.Message(2, dims);                                                       // TypeProto.Tensor.shape = 2
        var type = new ProtoWriter();
        type.Message(1, tensorType);                                                       // TypeProto.tensor_type = 1
        var info = new ProtoWriter();
        info.String(1, name);                                                              // ValueInfoProto.name = 1
        info.Message(2, type);                                                             // ValueInfoProto.type = 2
        return info;
    }

    /// <summary>A minimal protobuf encoder: varints and length-delimited fields.</summary>
    private sealed class ProtoWriter
    {
        private readonly MemoryStream _buffer = new();

        public void Varint(int field, ulong value)
        {
            WriteRaw(((ulong)field << 3) | 0);
            WriteRaw(value);
        }

        public void String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

        public void Message(int field, ProtoWriter message) => Bytes(field, message.ToArray());

        public void Bytes(int field, byte[] value)
        {
            WriteRaw(((ulong)field << 3) | 2);
            WriteRaw((ulong)value.Length);
            _buffer.Write(value);
        }

        public byte[] ToArray() => _buffer.ToArray();

        private void WriteRaw(ulong value)
        {
            while (value >= 0x80)
            {
                _buffer.WriteByte((byte)(value | 0x80));
                value >>= 7;
            }

            _buffer.WriteByte((byte)value);
        }
    }
}
