// Plain-text tables for terminal output: columns padded to their widest cell.
#ifndef GATHER_CLIENT_OUTPUT_TABLE_H_
#define GATHER_CLIENT_OUTPUT_TABLE_H_

#include <ostream>
#include <string>
#include <vector>

namespace gather::client {

class Table {
 public:
  // `right_aligned[i]` aligns column i to the right (numbers).
  Table(std::vector<std::string> header, std::vector<bool> right_aligned);
  void AddRow(std::vector<std::string> row);
  void Print(std::ostream& out) const;

 private:
  std::vector<std::string> header_;
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

// "12.35": fixed with `decimals` places.
std::string FormatFixed(double value, int decimals);

}  // namespace gather::client

#endif  // GATHER_CLIENT_OUTPUT_TABLE_H_
