// The few ONNX protobuf messages the importer reads (field numbers from onnx/onnx.proto, IR v8),
// decoded and re-encoded with protobufjs. Only what a QLinear* graph needs; unknown fields are skipped.
import protobuf from "protobufjs";

const SCHEMA = `
syntax = "proto3";
package onnx;
message AttributeProto { string name = 1; float f = 2; int64 i = 3; bytes s = 4; TensorProto t = 5; repeated float floats = 7; repeated int64 ints = 8; int32 type = 20; }
message ValueInfoProto { string name = 1; TypeProto type = 2; string doc_string = 3; }
message NodeProto { repeated string input = 1; repeated string output = 2; string name = 3; string op_type = 4; repeated AttributeProto attribute = 5; string domain = 7; }
message OperatorSetIdProto { string domain = 1; int64 version = 2; }
message ModelProto { int64 ir_version = 1; string producer_name = 2; string producer_version = 3; string domain = 4; int64 model_version = 5; GraphProto graph = 7; repeated OperatorSetIdProto opset_import = 8; }
message GraphProto { repeated NodeProto node = 1; string name = 2; repeated TensorProto initializer = 5; repeated ValueInfoProto input = 11; repeated ValueInfoProto output = 12; repeated ValueInfoProto value_info = 13; }
message TensorProto { repeated int64 dims = 1; int32 data_type = 2; repeated float float_data = 4; repeated int32 int32_data = 5; repeated int64 int64_data = 7; string name = 8; bytes raw_data = 9; }
message TypeProto { message Tensor { int32 elem_type = 1; TensorShapeProto shape = 2; } Tensor tensor_type = 1; }
message TensorShapeProto { message Dimension { int64 dim_value = 1; string dim_param = 2; } repeated Dimension dim = 1; }
`;

const root = protobuf.parse(SCHEMA, { keepCase: true }).root;
const ModelProto = root.lookupType("onnx.ModelProto");

type Long = { toNumber(): number };
export type Int64 = number | Long;
export const toNumber = (v: Int64 | null | undefined): number => (v == null ? 0 : typeof v === "number" ? v : v.toNumber());

export interface OnnxTensor {
  name: string;
  dims: Int64[];
  data_type: number;
  float_data: number[];
  int32_data: number[];
  int64_data: Int64[];
  raw_data: Uint8Array;
}
export interface OnnxAttribute {
  name: string;
  f: number;
  i: Int64;
  s: Uint8Array;
  ints: Int64[];
  type: number;
}
export interface OnnxNode {
  input: string[];
  output: string[];
  name: string;
  op_type: string;
  attribute: OnnxAttribute[];
  domain: string;
}
export interface OnnxValueInfo {
  name: string;
  type?: { tensor_type?: { elem_type: number; shape?: { dim: { dim_value?: Int64; dim_param?: string }[] } } };
}
export interface OnnxGraph {
  node: OnnxNode[];
  name: string;
  initializer: OnnxTensor[];
  input: OnnxValueInfo[];
  output: OnnxValueInfo[];
  value_info: OnnxValueInfo[];
}
export interface OnnxModel {
  ir_version: Int64;
  opset_import: { domain: string; version: Int64 }[];
  graph: OnnxGraph;
}

/** ONNX TensorProto.DataType codes used here. */
export const ONNX_FLOAT = 1,
  ONNX_UINT8 = 2,
  ONNX_INT8 = 3,
  ONNX_INT32 = 6;

export function decodeOnnx(bytes: Uint8Array): OnnxModel {
  return ModelProto.toObject(ModelProto.decode(bytes), { defaults: true, arrays: true }) as unknown as OnnxModel;
}

export function encodeOnnx(model: OnnxModel): Uint8Array {
  return ModelProto.encode(ModelProto.fromObject(model)).finish();
}
